// Express + passport-http's BasicStrategy with the password checked by bcrypt (cost 10, its
// usual setting): the common way an Express app does HTTP Basic. The same app as
// http-server.mjs (a `/private` route answering `{ secret: true }`).
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:http';
import bcrypt from 'bcrypt';
import express from 'express';
import passport from 'passport';
import { BasicStrategy } from 'passport-http';
import { ready } from './ipc.mjs';

const user = 'bench';
const password = randomBytes(24).toString('base64url');
const users = new Map([[user, { name: user, hash: await bcrypt.hash(password, 10) }]]);

passport.use(
  new BasicStrategy((name, given, done) => {
    const found = users.get(name);
    if (found === undefined) return done(null, false);
    bcrypt.compare(given, found.hash).then(
      (ok) => done(null, ok ? found : false),
      (error) => done(error),
    );
  }),
);
const app = express();
app.use(passport.initialize());
app.get('/private', passport.authenticate('basic', { session: false }), (_req, res) => {
  res.send({ secret: true });
});
const server = createServer({ keepAliveTimeout: 60_000 }, app);
server.listen(0, '127.0.0.1');
await once(server, 'listening');
ready({ url: `http://127.0.0.1:${server.address().port}/private`, user, password }, async () => {
  server.closeAllConnections();
  server.close();
});
