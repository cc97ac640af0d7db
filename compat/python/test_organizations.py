"""Organizations and memberships through clerk-backend-api 7.0.0
(clerk.organizations.*, clerk.organization_memberships.*, clerk.users.*)."""

from __future__ import annotations

import base64

import pytest
from clerk_backend_api import models

from conftest import id_pattern, uniq

# A 1x1 PNG.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGMAAQAABQABDQottAAAAABJRU5ErkJggg=="
)


@pytest.fixture
def make_org(clerk):
    created = []

    def make(**request):
        org = clerk.organizations.create(request={"name": f"Compat {uniq()}", **request})
        created.append(org.id)
        return org

    yield make
    for org_id in created:
        try:
            clerk.organizations.delete(organization_id=org_id)
        except Exception:  # deleted by the test already
            pass


def test_organization_lifecycle(clerk, make_user, make_org):
    ada = make_user(first_name="Ada")
    slug = f"compat-{uniq()}"
    org = make_org(
        slug=slug,
        created_by=ada.id,
        public_metadata={"plan": "pro", "nested": {"a": 1}},
        private_metadata={"billing": "x"},
        max_allowed_memberships=10,
    )
    assert isinstance(org, models.Organization)
    assert id_pattern("org").match(org.id)
    assert org.object == models.OrganizationObject.ORGANIZATION
    assert org.slug == slug
    assert org.created_by == ada.id
    assert org.max_allowed_memberships == 10
    assert org.admin_delete_enabled is True
    assert org.has_image is False
    assert org.public_metadata == {"plan": "pro", "nested": {"a": 1}}

    by_id = clerk.organizations.get(organization_id=org.id, include_members_count=True)
    assert by_id.members_count == 1
    by_slug = clerk.organizations.get(organization_id=slug)
    assert by_slug.id == org.id

    updated = clerk.organizations.update(
        organization_id=org.id, name="Renamed", admin_delete_enabled=False, max_allowed_memberships=0
    )
    assert updated.name == "Renamed"
    assert updated.admin_delete_enabled is False
    assert updated.max_allowed_memberships == 0

    merged = clerk.organizations.merge_metadata(
        organization_id=org.id, public_metadata={"nested": {"b": 2}, "plan": None}
    )
    assert merged.public_metadata == {"nested": {"a": 1, "b": 2}}
    assert merged.private_metadata == {"billing": "x"}
    replaced = clerk.organizations.replace_metadata(organization_id=org.id, private_metadata={"only": True})
    assert replaced.private_metadata == {"only": True}
    assert replaced.public_metadata == {"nested": {"a": 1, "b": 2}}

    with_logo = clerk.organizations.upload_logo(
        organization_id=org.id,
        file={"file_name": "logo.png", "content": PNG, "content_type": "image/png"},
        uploader_user_id=ada.id,
    )
    assert with_logo.has_image is True
    assert with_logo.image_url
    without_logo = clerk.organizations.delete_logo(organization_id=org.id)
    assert without_logo.has_image is False

    deleted = clerk.organizations.delete(organization_id=org.id)
    assert deleted.deleted is True
    assert deleted.id == org.id
    assert deleted.object == "organization"
    with pytest.raises(models.ClerkErrors) as err:
        clerk.organizations.get(organization_id=org.id)
    assert err.value.data.errors[0].code == "resource_not_found"


def test_organization_list_filters_and_order(clerk, make_user, make_org):
    ada = make_user(first_name="Ada")
    tag = f"lst{uniq()}"
    ids = [make_org(name=f"{tag} {n}", created_by=ada.id).id for n in ("Charlie", "alpha", "Bravo")]

    page = clerk.organizations.list(query=tag, order_by="name", include_members_count=True, limit=10)
    assert isinstance(page, models.Organizations)
    assert page.total_count == 3
    assert [o.name for o in page.data] == [f"{tag} alpha", f"{tag} Bravo", f"{tag} Charlie"]
    assert all(o.members_count == 1 for o in page.data)

    newest = clerk.organizations.list(query=tag, limit=1)
    assert newest.data[0].id == ids[-1]
    assert clerk.organizations.list(user_id=[ada.id]).total_count == 3
    assert clerk.organizations.list(query=tag, organization_id=[f"-{ids[0]}"]).total_count == 2

    with pytest.raises(models.ClerkErrors) as err:
        clerk.organizations.list(order_by="size")
    assert err.value.data.errors[0].meta["param_name"] == "order_by"


def test_create_refuses_taken_slug_and_bad_input(clerk, make_org):
    org = make_org()
    with pytest.raises(models.ClerkErrors) as err:
        clerk.organizations.create(request={"name": "Twin", "slug": org.slug})
    assert err.value.data.errors[0].code == "form_identifier_exists"
    assert err.value.data.errors[0].meta["param_name"] == "slug"
    with pytest.raises(models.ClerkErrors) as err:
        clerk.organizations.create(request={"name": "x", "slug": "Not A Slug"})
    assert err.value.data.errors[0].meta["param_name"] == "slug"


def test_memberships_lifecycle(clerk, make_user, make_org):
    ada = make_user(first_name="Ada")
    bob = make_user(first_name="Bob")
    org = make_org(created_by=ada.id)

    m = clerk.organization_memberships.create(
        organization_id=org.id, user_id=bob.id, role="org:member", public_metadata={"team": "x"}
    )
    assert isinstance(m, models.OrganizationMembership)
    assert id_pattern("orgmem").match(m.id)
    assert m.object == models.OrganizationMembershipObject.ORGANIZATION_MEMBERSHIP
    assert m.role == "org:member"
    assert m.permissions == ["org:sys_memberships:read"]
    assert m.organization.id == org.id
    assert m.public_user_data.user_id == bob.id
    assert m.public_user_data.first_name == "Bob"
    assert m.public_metadata == {"team": "x"}

    with pytest.raises(models.ClerkErrors) as err:
        clerk.organization_memberships.create(organization_id=org.id, user_id=bob.id, role="org:member")
    assert err.value.data.errors[0].code == "already_a_member_in_organization"

    listed = clerk.organization_memberships.list(organization_id=org.id, order_by="first_name")
    assert isinstance(listed, models.OrganizationMemberships)
    assert listed.total_count == 2
    assert [x.public_user_data.first_name for x in listed.data] == ["Ada", "Bob"]
    admins = clerk.organization_memberships.list(organization_id=org.id, role=["org:admin"])
    assert [x.public_user_data.user_id for x in admins.data] == [ada.id]

    # The last admin can be neither demoted nor removed.
    with pytest.raises(models.ClerkErrors) as err:
        clerk.organization_memberships.update(organization_id=org.id, user_id=ada.id, role="org:member")
    assert err.value.data.errors[0].code == "organization_minimum_permissions_needed"
    with pytest.raises(models.ClerkErrors):
        clerk.organization_memberships.delete(organization_id=org.id, user_id=ada.id)

    promoted = clerk.organization_memberships.update(organization_id=org.id, user_id=bob.id, role="org:admin")
    assert promoted.role == "org:admin"
    merged = clerk.organization_memberships.update_metadata(
        organization_id=org.id, user_id=bob.id, public_metadata={"lead": True}
    )
    assert merged.public_metadata == {"team": "x", "lead": True}

    mine = clerk.users.get_organization_memberships(user_id=bob.id)
    assert mine.total_count == 1
    assert mine.data[0].organization.id == org.id
    every = clerk.users.get_instance_organization_memberships(limit=500)
    assert every.total_count >= 2

    removed = clerk.organization_memberships.delete(organization_id=org.id, user_id=ada.id)
    assert isinstance(removed, models.OrganizationMembership)
    assert removed.public_user_data.user_id == ada.id
    assert clerk.organizations.get(organization_id=org.id, include_members_count=True).members_count == 1


def test_invitations_lifecycle(clerk, make_user, make_org):
    from conftest import unique_email

    ada = make_user(first_name="Ada")
    bob_email = unique_email("bob")
    bob = make_user(bob_email, first_name="Bob")
    org = make_org(created_by=ada.id)

    inv = clerk.organization_invitations.create(
        organization_id=org.id,
        email_address=bob_email,
        role="org:member",
        inviter_user_id=ada.id,
        public_metadata={"team": "x"},
        redirect_url="http://localhost:3000/join",
    )
    assert isinstance(inv, models.OrganizationInvitation)
    assert id_pattern("orginv").match(inv.id)
    assert inv.status == "pending"
    assert inv.inviter_id == ada.id
    assert inv.url == "http://localhost:3000/join"
    assert inv.expires_at and inv.expires_at > inv.created_at

    bulk = clerk.organization_invitations.bulk_create(
        organization_id=org.id,
        request_body=[
            {"email_address": unique_email("cy"), "role": "org:member"},
            {"email_address": unique_email("dan"), "role": "org:admin"},
        ],
    )
    assert [i.role for i in bulk.data] == ["org:member", "org:admin"]

    pending = clerk.organization_invitations.list(organization_id=org.id, status="pending")
    assert pending.total_count == 3
    assert clerk.organization_invitations.get(organization_id=org.id, invitation_id=inv.id).id == inv.id
    mine = clerk.users.get_organization_invitations(user_id=bob.id)
    assert [i.id for i in mine.data] == [inv.id]

    revoked = clerk.organization_invitations.revoke(organization_id=org.id, invitation_id=bulk.data[0].id)
    assert revoked.status == "revoked"
    everywhere = clerk.organization_invitations.get_all(status="revoked", limit=500)
    assert bulk.data[0].id in [i.id for i in everywhere.data]
    assert clerk.organizations.get(organization_id=org.id).pending_invitations_count == 2
