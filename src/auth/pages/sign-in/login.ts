/**
 * The sign-in step: the username and password form (LOCAL_LOGIN), the identity providers'
 * buttons (FEDERATION_PROVIDERS), or no page at all when a simulated EHR session signs the
 * launch's practitioner in, or when one identity provider is the only way in. Failed sign-ins
 * are limited per client address here and per username by the account store.
 */
import { clientAddress } from '../../../security/rate-limit.js';
import { ehrSessionAccount, simulatedSessionLaunch } from '../../launch/ehr-session.js';
import { loginPage } from '../views/login.js';
import { federationButtons, singleProviderRedirect } from './federation.js';
import { field, type ShowOptions, type SignIn } from './flow.js';

const minutes = (seconds: number) => `${Math.ceil(seconds / 60)} minute${seconds > 60 ? 's' : ''}`;

/** The sign-in page of this interaction, with `options.error` when the last attempt failed. */
export async function sendLoginPage(flow: SignIn, options: ShowOptions = {}): Promise<void> {
  const { deps, interaction } = flow;
  const hint = typeof interaction.params.login_hint === 'string' ? interaction.params.login_hint.slice(0, 200) : undefined;
  const prefill = options.username ?? hint;
  const html = loginPage({
    action: flow.url('login'),
    abortAction: flow.url('abort'),
    clientName: (await flow.client()).name,
    sampleHint: deps.settings.seed,
    ...(options.error ? { error: options.error } : {}),
    federation: federationButtons(deps.federation, flow.base, flow.uid),
    localLogin: deps.settings.localLogin,
    ...(prefill ? { username: prefill } : {}),
  });
  flow.sendPage(options.status ?? 200, html, await deps.federation.authorizationEndpoints());
}

export async function showLogin(flow: SignIn, options: ShowOptions = {}): Promise<void> {
  const ehr = await simulatedSessionLaunch(flow.deps.launches, flow.interaction.params.launch);
  if (ehr) {
    const account = await ehrSessionAccount(flow.deps.accounts, ehr.practitioner);
    return flow.finish({ login: { accountId: account.id } }, false);
  }
  const upstream = options.error ? undefined : await singleProviderRedirect(flow.deps.federation, flow.deps.settings.localLogin, flow.interaction);
  if (upstream) return void flow.res.redirect(303, upstream);
  return sendLoginPage(flow, options);
}

/** With LOCAL_LOGIN=false a password is refused before anything else is looked at. */
export async function refusePasswordSignIn(flow: SignIn): Promise<void> {
  if (flow.interaction.prompt.name !== 'login') return flow.show(flow);
  return flow.show(flow, { status: 403, error: "Sign-in with a Bedside password is turned off here: use your organisation's sign-in." });
}

export async function submitLogin(flow: SignIn): Promise<void> {
  const { deps, req, res } = flow;
  if (flow.interaction.prompt.name !== 'login') return flow.show(flow);
  const username = field(req.body, 'username').slice(0, 200);
  // Per client address first (password spraying across usernames), then per username (AccountStore).
  const address = clientAddress(req, deps.settings.trustProxy);
  const slot = await deps.signInsByAddress.reserve(address);
  if (!slot.allowed) {
    res.set('retry-after', String(slot.retryAfterSeconds));
    return flow.show(flow, { status: 429, username, error: `Too many failed sign-ins from your network. Try again in ${minutes(slot.retryAfterSeconds)}.` });
  }
  const result = await deps.accounts.signIn(username, field(req.body, 'password').slice(0, 1000));
  if (result.ok || result.reason === 'locked') await deps.signInsByAddress.refund(address);
  if (result.ok) return flow.finish({ login: { accountId: result.account.id } }, false);
  if (result.reason === 'locked') return flow.show(flow, { status: 403, username, error: 'This account is locked. Ask an operator.' });
  if (result.reason === 'throttled') {
    res.set('retry-after', String(result.retryAfterSeconds));
    return flow.show(flow, { status: 429, username, error: `Too many failed sign-ins for this username. Try again in ${minutes(result.retryAfterSeconds)}.` });
  }
  return flow.show(flow, { status: 401, username, error: 'The username or password is not right.' });
}
