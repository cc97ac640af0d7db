// An Express API beside the app, as @clerk/express documents it: the session
// from the __session cookie or an `Authorization: Bearer` token.
import { clerkMiddleware, getAuth, requireAuth } from '@clerk/express';
import express from 'express';

const app = express();
app.use(clerkMiddleware());

app.get('/api/me', requireAuth(), (req, res) => {
  const { userId, sessionId } = getAuth(req);
  res.json({ userId, sessionId });
});

app.get('/api/whoami', (req, res) => {
  res.json({ userId: getAuth(req).userId ?? null });
});

const port = Number(process.env.PORT || 3001);
app.listen(port, '127.0.0.1', () => console.log(`express: listening on 127.0.0.1:${port}`));
