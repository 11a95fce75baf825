from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from api.models import Foo, User

admin.site.register(User, UserAdmin)


@admin.register(Foo)
class FooAdmin(admin.ModelAdmin):
    list_display = ["bar", "owner", "version", "updated_at"]
    readonly_fields = ["version"]
