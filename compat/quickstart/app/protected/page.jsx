import { auth } from '@clerk/nextjs/server';

// Reached only signed in: the middleware's auth.protect() sends a signed-out
// visitor to the sign-in page first.
export default async function Protected() {
  const { userId } = await auth();
  return (
    <main style={{ padding: 16 }}>
      <h1>Protected</h1>
      <p id="protected-user-id">{userId}</p>
    </main>
  );
}
