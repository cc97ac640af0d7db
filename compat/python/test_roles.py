"""Organization permissions, roles and role sets through clerk-backend-api 7.0.0
(clerk.organization_permissions.*, clerk.organization_roles.*, clerk.role_sets.*)."""

from __future__ import annotations

import pytest
from clerk_backend_api import models

from conftest import id_pattern, uniq


def suffix() -> str:
    return "".join(c for c in uniq() if c.isalnum()).lower()


def test_permissions_lifecycle(clerk):
    system = clerk.organization_permissions.list(query="org:sys_", limit=50)
    assert isinstance(system, models.Permissions)
    assert system.total_count == 8
    assert {p.type for p in system.data} == {"system"}

    s = suffix()
    p = clerk.organization_permissions.create(
        name="Read invoices", key=f"org:invoices{s}:read", description="See the invoices"
    )
    assert isinstance(p, models.Permission)
    assert id_pattern("perm").match(p.id)
    assert p.object == models.PermissionObject.PERMISSION
    assert p.type == "custom"
    assert clerk.organization_permissions.get(permission_id=p.id).key == p.key
    found = clerk.organization_permissions.list(query=f"invoices{s}")
    assert [x.id for x in found.data] == [p.id]

    changed = clerk.organization_permissions.update(
        permission_id=p.id, name="Manage invoices", key=f"org:invoices{s}:manage"
    )
    assert (changed.name, changed.key) == ("Manage invoices", f"org:invoices{s}:manage")

    with pytest.raises(models.ClerkErrors) as err:
        clerk.organization_permissions.create(name="x", key=f"org:invoices{s}:manage")
    assert err.value.data.errors[0].code == "form_identifier_exists"
    with pytest.raises(models.ClerkErrors) as err:
        clerk.organization_permissions.create(name="x", key="org:sys_thing:read")
    assert err.value.status_code == 422
    with pytest.raises(models.ClerkErrors) as err:
        clerk.organization_permissions.delete(permission_id=system.data[0].id)
    assert err.value.status_code == 403

    gone = clerk.organization_permissions.delete(permission_id=p.id)
    assert gone.deleted is True
    with pytest.raises(models.ClerkErrors) as err:
        clerk.organization_permissions.get(permission_id=p.id)
    assert err.value.status_code == 404


def test_roles_lifecycle(clerk, make_user):
    s = suffix()
    read = clerk.organization_permissions.create(name="Read", key=f"org:reports{s}:read")
    edit = clerk.organization_permissions.create(name="Edit", key=f"org:reports{s}:edit")
    role = clerk.organization_roles.create(
        name="Analyst",
        key=f"org:analyst{s}",
        description="Reads reports",
        permissions=[read.id],
        include_in_initial_role_set=True,
    )
    assert isinstance(role, models.Role)
    assert id_pattern("role").match(role.id)
    assert role.is_creator_eligible is False
    assert [p.key for p in role.permissions] == [read.key]
    assert clerk.organization_roles.get(organization_role_id=role.id).name == "Analyst"
    assert role.id in [r.id for r in clerk.organization_roles.list(limit=100).data]

    role = clerk.organization_roles.assign_permission(
        organization_role_id=role.id, permission_id=edit.id
    )
    assert sorted(p.key for p in role.permissions) == sorted([read.key, edit.key])
    with pytest.raises(models.ClerkErrors) as err:
        clerk.organization_roles.assign_permission(
            organization_role_id=role.id, permission_id=edit.id
        )
    assert err.value.status_code == 409
    role = clerk.organization_roles.remove_permission(
        organization_role_id=role.id, permission_id=edit.id
    )
    assert [p.key for p in role.permissions] == [read.key]

    # A member with the role; its new key follows on the membership.
    ada = make_user(first_name="Ada")
    bob = make_user(first_name="Bob")
    org = clerk.organizations.create(request={"name": f"Roles {s}", "created_by": ada.id})
    m = clerk.organization_memberships.create(
        organization_id=org.id, user_id=bob.id, role=role.key
    )
    assert read.key in m.permissions
    role = clerk.organization_roles.update(
        organization_role_id=role.id, key=f"org:reporter{s}", permissions=[read.id, edit.id]
    )
    members = clerk.organization_memberships.list(organization_id=org.id, role=[role.key])
    assert [x.public_user_data.user_id for x in members.data] == [bob.id]

    with pytest.raises(models.ClerkErrors) as err:
        clerk.organization_roles.delete(organization_role_id=role.id)
    assert err.value.data.errors[0].code == "organization_role_in_use"
    clerk.organization_memberships.delete(organization_id=org.id, user_id=bob.id)
    clerk.role_sets.replace_role(
        role_set_key_or_id="role_set:default", role_key=role.key, to_role_key="org:member"
    )
    gone = clerk.organization_roles.delete(organization_role_id=role.id)
    assert gone.deleted is True
    clerk.organizations.delete(organization_id=org.id)


def test_role_sets_lifecycle(clerk, make_user):
    s = suffix()
    manage = clerk.organization_permissions.list(query="org:sys_memberships:manage").data[0]
    owner = clerk.organization_roles.create(
        name="Owner", key=f"org:owner{s}", permissions=[manage.id]
    )
    viewer = clerk.organization_roles.create(name="Viewer", key=f"org:viewer{s}")
    extra = clerk.organization_roles.create(name="Extra", key=f"org:extra{s}")

    with pytest.raises(models.ClerkErrors):
        clerk.role_sets.create(
            name="Bad", roles=[viewer.key], default_role_key=viewer.key,
            creator_role_key=viewer.key,
        )
    rs = clerk.role_sets.create(
        name=f"Enterprise {s}",
        roles=[owner.key, viewer.key],
        default_role_key=viewer.key,
        creator_role_key=owner.key,
        description="Big customers",
    )
    assert isinstance(rs, models.RoleSet)
    assert id_pattern("rs").match(rs.id)
    assert rs.key == f"role_set:enterprise_{s}"
    assert rs.type == models.Type.CUSTOM
    assert [r.key for r in rs.roles] == [owner.key, viewer.key]
    assert rs.creator_role.key == owner.key
    assert clerk.role_sets.get(role_set_key_or_id=rs.id).key == rs.key
    assert rs.key in [x.key for x in clerk.role_sets.list(limit=100).data]

    rs = clerk.role_sets.add_roles(
        role_set_key_or_id=rs.key, role_keys=[extra.key], default_role_key=extra.key
    )
    assert rs.default_role.key == extra.key
    rs = clerk.role_sets.update(role_set_key_or_id=rs.key, name="Enterprise plan")
    assert rs.name == "Enterprise plan"

    ada = make_user(first_name="Ada")
    bob = make_user(first_name="Bob")
    org = clerk.organizations.create(
        request={"name": f"Big {s}", "created_by": ada.id, "role_set_key": rs.key}
    )
    admins = clerk.organization_memberships.list(organization_id=org.id)
    assert admins.data[0].role == owner.key
    with pytest.raises(models.ClerkErrors):
        clerk.organization_memberships.create(
            organization_id=org.id, user_id=bob.id, role="org:member"
        )
    clerk.organization_memberships.create(organization_id=org.id, user_id=bob.id, role=extra.key)
    rs = clerk.role_sets.replace_role(
        role_set_key_or_id=rs.key, role_key=extra.key, to_role_key=viewer.key
    )
    assert [r.key for r in rs.roles] == [owner.key, viewer.key]
    counts = {r.key: r.members_count for r in rs.roles}
    assert counts == {owner.key: 1, viewer.key: 1}

    gone = clerk.role_sets.replace(
        role_set_key_or_id=rs.key,
        dest_role_set_key="role_set:default",
        reassignment_mappings={owner.key: "org:admin", viewer.key: "org:member"},
    )
    assert gone.deleted is True
    roles = sorted(m.role for m in clerk.organization_memberships.list(organization_id=org.id).data)
    assert roles == ["org:admin", "org:member"]
    with pytest.raises(models.ClerkErrors) as err:
        clerk.role_sets.get(role_set_key_or_id=rs.key)
    assert err.value.status_code == 404
    clerk.organizations.delete(organization_id=org.id)
    for r in (owner, viewer, extra):
        clerk.organization_roles.delete(organization_role_id=r.id)
