from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from api.models import Foo, Job, User

admin.site.register(User, UserAdmin)


@admin.register(Foo)
class FooAdmin(admin.ModelAdmin):
    list_display = ["bar", "owner", "version", "updated_at"]
    readonly_fields = ["version"]


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ["kind", "owner", "state", "done", "total", "created_at", "finished_at"]
    list_filter = ["state", "kind"]
    exclude = ["input"]
    readonly_fields = ["version", "task_id", "heartbeat_at", "attempts"]
