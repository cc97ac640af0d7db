// Error responses as @clerk/backend 3.25.0 surfaces them (ClerkAPIResponseError).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { ClerkAPIResponseError } from '@clerk/backend/errors';

import { clerk, createTestUser, expectApiError, makeClient, uniqueEmail } from './helpers.mjs';

describe('errors', () => {
  test('creating a user with an email that exists: 422 form_identifier_exists', async () => {
    const email = uniqueEmail('dup');
    await createTestUser({ email });
    const err = await expectApiError(createTestUser({ email }), { status: 422, code: 'form_identifier_exists' });
    assert.ok(err instanceof ClerkAPIResponseError);
    const [first] = err.errors;
    assert.equal(typeof first.message, 'string');
    assert.ok(first.message.length > 0, 'errors[0].message is set');
    assert.equal(typeof first.longMessage, 'string', 'errors[0].long_message is set');
    assert.equal(first.meta?.paramName, 'email_address', 'errors[0].meta.param_name names the field');
  });

  test('the same email in another letter case is also taken', async () => {
    const email = uniqueEmail('case');
    await createTestUser({ email });
    await expectApiError(createTestUser({ email: email.toUpperCase() }), {
      status: 422,
      code: 'form_identifier_exists',
    });
  });

  test('getUser of a missing id: 404 resource_not_found', async () => {
    const missing = 'user_2zzzzzzzzzzzzzzzzzzzzzzzzzz';
    const err = await expectApiError(clerk.users.getUser(missing), { status: 404, code: 'resource_not_found' });
    assert.ok(err instanceof ClerkAPIResponseError);
  });

  test('updateUser / deleteUser of a missing id: 404 resource_not_found', async () => {
    const missing = 'user_2yyyyyyyyyyyyyyyyyyyyyyyyyy';
    await expectApiError(clerk.users.updateUser(missing, { firstName: 'X' }), {
      status: 404,
      code: 'resource_not_found',
    });
    await expectApiError(clerk.users.deleteUser(missing), { status: 404, code: 'resource_not_found' });
  });

  test('a wrong secret key is refused with 401', async () => {
    const intruder = makeClient({ secretKey: 'sk_test_thisKeyIsNotTheInstanceKey000000' });
    await expectApiError(intruder.users.getCount(), { status: 401 });
    await expectApiError(intruder.users.createUser({ emailAddress: [uniqueEmail('intruder')] }), { status: 401 });
  });
});
