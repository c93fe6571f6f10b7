/** Sign-in: paste a platform JWT, or (when the console mints demo tokens) pick a role. */
import { useEffect, useState } from 'react';
import { useT } from '../i18n.js';
import { decodeToken } from '../session.js';
import { ErrorBox, Field, useLanguage } from '../ui.js';

interface ConsoleConfig {
  devTokens: { oemId: string; roles: string[] } | null;
}

export function LoginScreen({ onToken }: { onToken: (token: string) => void }) {
  const t = useT();
  const { language, setLanguage } = useLanguage();
  const [token, setToken] = useState('');
  const [error, setError] = useState<unknown>(undefined);
  const [config, setConfig] = useState<ConsoleConfig | undefined>(undefined);
  const [role, setRole] = useState('dealer_manager');
  const [dealerId, setDealerId] = useState('D001');
  const [agentId, setAgentId] = useState('');
  useEffect(() => {
    fetch('/console/config')
      .then(async (res) => (res.ok ? setConfig((await res.json()) as ConsoleConfig) : undefined))
      .catch(() => undefined);
  }, []);
  const dealerRole = !role.startsWith('oem_');
  const agentRole = role === 'dcc_agent' || role === 'showroom_consultant';
  return (
    <div className="login">
      <div className="login-box">
        <header>
          <h1>{t('appName')}</h1>
          <button className="link" onClick={() => setLanguage(language === 'zh-CN' ? 'en' : 'zh-CN')}>
            {t('language')}
          </button>
        </header>
        <form
          className="form"
          onSubmit={(e) => {
            e.preventDefault();
            if (decodeToken(token) === undefined) setError(new Error(t('tokenInvalid')));
            else onToken(token);
          }}
        >
          <Field label={t('pasteToken')}>
            <textarea name="token" rows={4} value={token} onChange={(e) => setToken(e.target.value)} />
          </Field>
          <button type="submit">{t('signIn')}</button>
        </form>
        {config?.devTokens ? (
          <form
            className="form demo"
            onSubmit={(e) => {
              e.preventDefault();
              fetch('/console/dev-token', {
                method: 'POST',
                headers: { 'content-type': 'application/json' },
                body: JSON.stringify({
                  role,
                  ...(dealerRole ? { dealerId } : {}),
                  ...(agentRole ? { agentId } : {}),
                }),
              })
                .then(async (res) => {
                  const body = (await res.json()) as { token?: string; detail?: string };
                  if (!res.ok || body.token === undefined) throw new Error(body.detail ?? res.statusText);
                  onToken(body.token);
                })
                .catch((err: unknown) => setError(err));
            }}
          >
            <h2>{t('demoLogin')}</h2>
            <p className="muted">
              {t('demoHint')} ({t('oem')}: {config.devTokens.oemId})
            </p>
            <Field label={t('role')}>
              <select name="role" value={role} onChange={(e) => setRole(e.target.value)}>
                {config.devTokens.roles.map((r) => (
                  <option key={r} value={r}>
                    {r}
                  </option>
                ))}
              </select>
            </Field>
            {dealerRole ? (
              <Field label={t('dealer')}>
                <input name="dealerId" value={dealerId} onChange={(e) => setDealerId(e.target.value)} />
              </Field>
            ) : null}
            {agentRole ? (
              <Field label={t('agent')}>
                <input name="agentId" value={agentId} onChange={(e) => setAgentId(e.target.value)} />
              </Field>
            ) : null}
            <button type="submit">{t('signIn')}</button>
          </form>
        ) : null}
        <ErrorBox error={error} />
      </div>
    </div>
  );
}
