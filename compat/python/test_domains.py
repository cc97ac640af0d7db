"""Organization domains through clerk-backend-api 7.0.0 (clerk.organization_domains.*)."""

from __future__ import annotations

import pytest
from clerk_backend_api import models

from conftest import id_pattern, uniq


def test_domains_lifecycle(clerk, make_user):
    ada = make_user(first_name="Ada")
    org = clerk.organizations.create(request={"name": f"Domains {uniq()}", "created_by": ada.id})
    name = f"d{uniq()}.example.com"
    d = clerk.organization_domains.create(
        organization_id=org.id, name=name, enrollment_mode="automatic_invitation"
    )
    assert isinstance(d, models.OrganizationDomain)
    assert id_pattern("orgdmn").match(d.id)
    assert d.name == name
    assert d.enrollment_mode == models.EnrollmentMode.AUTOMATIC_INVITATION
    assert d.affiliation_verification.status == "verified"
    assert d.total_pending_invitations == 0

    other = clerk.organization_domains.create(
        organization_id=org.id, name=f"o{uniq()}.example.com", verified=False
    )
    assert other.affiliation_verification is None
    listed = clerk.organization_domains.list(organization_id=org.id, verified="true")
    assert [x.id for x in listed.data] == [d.id]
    everywhere = clerk.organization_domains.list_all(domains=[name, other.name], order_by="name")
    assert everywhere.total_count == 2
    by_org = clerk.organization_domains.list_all(query=org.id)
    assert by_org.total_count == 2

    with pytest.raises(models.ClerkErrors) as err:
        clerk.organization_domains.create(organization_id=org.id, name="gmail.com")
    assert err.value.data.errors[0].code == "organization_domain_common"
    with pytest.raises(models.ClerkErrors) as err:
        clerk.organization_domains.update(
            organization_id=org.id, domain_id=other.id, enrollment_mode="automatic_suggestion"
        )
    assert err.value.status_code == 422

    changed = clerk.organization_domains.update(
        organization_id=org.id, domain_id=d.id, enrollment_mode="automatic_suggestion"
    )
    assert changed.enrollment_mode == models.EnrollmentMode.AUTOMATIC_SUGGESTION
    owned = clerk.organization_domains.verify_ownership(organization_id=org.id, domain_id=d.id)
    assert owned.ownership_verification.status == "verified"

    gone = clerk.organization_domains.delete(organization_id=org.id, domain_id=d.id)
    assert gone.deleted is True
    clerk.organizations.delete(organization_id=org.id)
