-- Permissions, roles and role sets of organization members. The system
-- permissions, Clerk's two default roles and the initial role set are seeded
-- here with fixed ids; organizations keep the role set they were created with.
CREATE TABLE organization_permissions (
    id TEXT PRIMARY KEY NOT NULL,
    key TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    system BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE organization_roles (
    id TEXT PRIMARY KEY NOT NULL,
    key TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    description TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE organization_role_permissions (
    role_id TEXT NOT NULL REFERENCES organization_roles (id) ON DELETE CASCADE,
    permission_id TEXT NOT NULL REFERENCES organization_permissions (id) ON DELETE CASCADE,
    PRIMARY KEY (role_id, permission_id)
);

CREATE TABLE role_sets (
    id TEXT PRIMARY KEY NOT NULL,
    key TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    description TEXT,
    initial BIGINT NOT NULL DEFAULT 0,
    default_role_id TEXT NOT NULL REFERENCES organization_roles (id),
    creator_role_id TEXT NOT NULL REFERENCES organization_roles (id),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE role_set_roles (
    role_set_id TEXT NOT NULL REFERENCES role_sets (id) ON DELETE CASCADE,
    role_id TEXT NOT NULL REFERENCES organization_roles (id),
    position BIGINT NOT NULL,
    PRIMARY KEY (role_set_id, role_id)
);

ALTER TABLE organizations ADD COLUMN role_set_id TEXT REFERENCES role_sets (id);

INSERT INTO organization_permissions (id, key, name, description, system, created_at, updated_at) VALUES
    ('perm_00000000orgsysprofilemanage', 'org:sys_profile:manage', 'Manage organization', 'Permission to manage an organization.', 1, 1733443200000, 1733443200000),
    ('perm_00000000orgsysprofiledelete', 'org:sys_profile:delete', 'Delete organization', 'Permission to delete an organization.', 1, 1733443200000, 1733443200000),
    ('perm_000000orgsysmembershipsread', 'org:sys_memberships:read', 'Read members', 'Permission to read the members of an organization.', 1, 1733443200000, 1733443200000),
    ('perm_0000orgsysmembershipsmanage', 'org:sys_memberships:manage', 'Manage members', 'Permission to manage the members of an organization.', 1, 1733443200000, 1733443200000),
    ('perm_0000000000orgsysdomainsread', 'org:sys_domains:read', 'Read domains', 'Permission to read the domains of an organization.', 1, 1733443200000, 1733443200000),
    ('perm_00000000orgsysdomainsmanage', 'org:sys_domains:manage', 'Manage domains', 'Permission to manage the domains of an organization.', 1, 1733443200000, 1733443200000),
    ('perm_0000000000orgsysbillingread', 'org:sys_billing:read', 'Read billing', 'Permission to read the billing of an organization.', 1, 1733443200000, 1733443200000),
    ('perm_00000000orgsysbillingmanage', 'org:sys_billing:manage', 'Manage billing', 'Permission to manage the billing of an organization.', 1, 1733443200000, 1733443200000);

INSERT INTO organization_roles (id, key, name, description, created_at, updated_at) VALUES
    ('role_0000000000000000000orgadmin', 'org:admin', 'Admin', 'Can manage the organization, its members and its settings.', 1733443200000, 1733443200000),
    ('role_000000000000000000orgmember', 'org:member', 'Member', 'Can see the other members.', 1733443200000, 1733443200000);

INSERT INTO organization_role_permissions (role_id, permission_id) VALUES
    ('role_0000000000000000000orgadmin', 'perm_00000000orgsysprofilemanage'),
    ('role_0000000000000000000orgadmin', 'perm_00000000orgsysprofiledelete'),
    ('role_0000000000000000000orgadmin', 'perm_000000orgsysmembershipsread'),
    ('role_0000000000000000000orgadmin', 'perm_0000orgsysmembershipsmanage'),
    ('role_0000000000000000000orgadmin', 'perm_0000000000orgsysdomainsread'),
    ('role_0000000000000000000orgadmin', 'perm_00000000orgsysdomainsmanage'),
    ('role_0000000000000000000orgadmin', 'perm_0000000000orgsysbillingread'),
    ('role_0000000000000000000orgadmin', 'perm_00000000orgsysbillingmanage'),
    ('role_000000000000000000orgmember', 'perm_000000orgsysmembershipsread');

INSERT INTO role_sets (id, key, name, description, initial, default_role_id, creator_role_id, created_at, updated_at) VALUES
    ('rs_0000000000000roleSetDefault', 'role_set:default', 'Default role set', 'The roles every organization starts with.', 1, 'role_000000000000000000orgmember', 'role_0000000000000000000orgadmin', 1733443200000, 1733443200000);
INSERT INTO role_set_roles (role_set_id, role_id, position) VALUES
    ('rs_0000000000000roleSetDefault', 'role_0000000000000000000orgadmin', 0),
    ('rs_0000000000000roleSetDefault', 'role_000000000000000000orgmember', 1);

UPDATE organizations SET role_set_id = 'rs_0000000000000roleSetDefault';
