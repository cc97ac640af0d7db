import { auth, currentUser } from '@clerk/nextjs/server';

// A server component: the session as the app's server sees it.
export default async function Home() {
  const { userId } = await auth();
  const user = await currentUser();
  return (
    <main style={{ padding: 16 }}>
      <p id="server-user-id">{userId ?? 'signed out'}</p>
      <p id="server-user-email">{user?.primaryEmailAddress?.emailAddress ?? ''}</p>
    </main>
  );
}
