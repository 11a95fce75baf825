from api.models import Foo, User


def test_a_foo_reads_as_its_bar(foo):
    assert str(foo) == "first"


def test_a_new_foo_is_at_version_1(user):
    assert Foo.objects.create(bar="new", owner=user).version == 1


def test_every_save_bumps_the_version(foo):
    foo.save()
    foo.save(update_fields=["bar"])

    foo.refresh_from_db()
    assert foo.version == 3


def test_inactive_users_are_not_visible_to_anyone(user, other_user):
    other_user.is_active = False
    other_user.save()

    assert list(User.visible_to(user)) == [user]
