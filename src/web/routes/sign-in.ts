/** Signing in with an smtp.auth.users account (throttled per IP like SMTP AUTH) and signing out. */
import { setTimeout as sleep } from 'node:timers/promises';
import type { WebContext } from '../context.js';
import { signInPage } from '../pages.js';

export function signInRoutes(c: WebContext): void {
  const { app, accounts, page } = c;
  app.get('/signin', async (req, reply) => {
    if (c.signedIn(req)) return reply.redirect('/', 303);
    return page(reply, 200, 'Sign in', signInPage());
  });
  app.post<{ Body: { username?: string; password?: string } }>('/signin', async (req, reply) => {
    if (!c.cleartextOk(req)) {
      return page(
        reply,
        403,
        'Sign in',
        signInPage('Sign-in needs HTTPS here (web.tls), or smtp.auth.allow_cleartext.'),
      );
    }
    const ip = req.socket.remoteAddress ?? '';
    const signIn = await accounts.password(String(req.body?.username ?? ''), String(req.body?.password ?? ''));
    if (!signIn) {
      await sleep(accounts.throttle.fail(ip));
      c.log.warn({ ip, username: String(req.body?.username ?? '').slice(0, 64) }, 'web sign-in failed');
      return page(reply, 401, 'Sign in', signInPage('Wrong user name or password.'));
    }
    accounts.throttle.succeed(ip);
    await req.session.regenerate();
    req.session.signIn = signIn;
    return reply.redirect('/', 303);
  });
  app.post('/signout', { preHandler: app.csrfProtection }, async (req, reply) => {
    await req.session.destroy();
    return reply.redirect('/signin', 303);
  });
}
