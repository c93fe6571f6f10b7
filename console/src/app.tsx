/** The shell: login, the language switch, the role's navigation and the screen for the URL. */
import { useEffect, useMemo, useState, type ReactNode } from 'react';
import { LanguageContext, translator, useT, type Language } from './i18n.js';
import { match, navigate, useLocation } from './router.js';
import {
  clearToken,
  decodeToken,
  isDealerStaff,
  isManager,
  isOem,
  storedToken,
  storeToken,
  type Claims,
} from './session.js';
import { Link, useLanguage } from './ui.js';
import { WorklistScreen } from './screens/worklist.js';
import { LeadScreen } from './screens/lead.js';
import { TeamScreen } from './screens/team.js';
import { ApprovalsScreen } from './screens/approvals.js';
import { PoolScreen } from './screens/pool.js';
import { LeadSearchScreen } from './screens/lead-search.js';
import { DashboardScreen } from './screens/dashboard.js';
import { ReportsScreen } from './screens/reports.js';
import { FlowScreen } from './screens/flow.js';
import { AdminScreen } from './screens/admin.js';
import { WallboardScreen } from './screens/wallboard.js';
import { LoginScreen } from './screens/login.js';

interface NavItem {
  to: string;
  label: string;
}

function navFor(claims: Claims): NavItem[] {
  const items: NavItem[] = [];
  if (isDealerStaff(claims)) {
    items.push({ to: '/worklist', label: 'navWorklist' });
    if (isManager(claims) || claims.roles.some((r) => ['dealer_admin', 'dcc_supervisor'].includes(r))) {
      items.push({ to: '/team', label: 'navTeam' });
    }
    if (isManager(claims)) items.push({ to: '/approvals', label: 'navApprovals' });
    items.push({ to: '/pool', label: 'navPool' });
    items.push({ to: '/wallboard', label: 'navWallboard' });
  }
  if (isOem(claims)) {
    items.push(
      { to: '/ops/leads', label: 'navLeads' },
      { to: '/ops/dashboard', label: 'navDashboard' },
      { to: '/ops/reports', label: 'navReports' },
      { to: '/ops/flow', label: 'navFlow' },
      { to: '/wallboard', label: 'navWallboard' },
    );
    if (claims.roles.includes('oem_admin') || claims.roles.includes('oem_operator'))
      items.push({ to: '/ops/admin', label: 'navAdmin' });
  }
  return items;
}

function homeOf(claims: Claims): string {
  return isOem(claims) ? '/ops/leads' : '/worklist';
}

function Screen({ claims, path }: { claims: Claims; path: string }): ReactNode {
  const lead = match('/leads/:leadId', path);
  if (lead !== undefined) return <LeadScreen claims={claims} leadId={lead.leadId ?? ''} />;
  switch (path) {
    case '/worklist':
      return <WorklistScreen claims={claims} />;
    case '/team':
      return <TeamScreen claims={claims} />;
    case '/approvals':
      return <ApprovalsScreen claims={claims} />;
    case '/pool':
      return <PoolScreen claims={claims} />;
    case '/ops/leads':
      return <LeadSearchScreen claims={claims} />;
    case '/ops/dashboard':
      return <DashboardScreen claims={claims} />;
    case '/ops/reports':
      return <ReportsScreen claims={claims} />;
    case '/ops/flow':
      return <FlowScreen />;
    case '/ops/admin':
      return <AdminScreen claims={claims} />;
    case '/wallboard':
      return <WallboardScreen claims={claims} />;
    default:
      return undefined;
  }
}

function Shell({ claims, onLogout }: { claims: Claims; onLogout: () => void }) {
  const t = useT();
  const { path } = useLocation();
  const { language, setLanguage } = useLanguage();
  const items = navFor(claims);
  const [menuOpen, setMenuOpen] = useState(false);
  useEffect(() => {
    if (path === '/' || path === '/login') navigate(homeOf(claims));
    setMenuOpen(false);
  }, [path, claims]);
  const screen = Screen({ claims, path });
  return (
    <div className="shell">
      <header className="topbar">
        <button className="menu" aria-label="menu" onClick={() => setMenuOpen((o) => !o)}>
          ☰
        </button>
        <strong className="brand">{t('appName')}</strong>
        <span className="who" data-testid="who">
          {claims.name ?? claims.sub} · {claims.roles.map((r) => r).join(', ')}
          {claims.dealerId === undefined ? '' : ` · ${claims.dealerId}`}
        </span>
        <button className="link" onClick={() => setLanguage(language === 'zh-CN' ? 'en' : 'zh-CN')}>
          {t('language')}
        </button>
        <button className="link" onClick={onLogout}>
          {t('logout')}
        </button>
      </header>
      <nav className={menuOpen ? 'sidebar open' : 'sidebar'}>
        {items.map((item) => (
          <Link key={item.to} to={item.to} className={path.startsWith(item.to) ? 'active' : ''}>
            {t(item.label)}
          </Link>
        ))}
      </nav>
      <main className="content">{screen ?? <p className="muted">404</p>}</main>
    </div>
  );
}

export function App() {
  const [language, setLanguageState] = useState<Language>(() =>
    localStorage.getItem('leadflow.lang') === 'en' ? 'en' : 'zh-CN',
  );
  const [token, setToken] = useState<string | undefined>(() => storedToken());
  const claims = useMemo(() => (token === undefined ? undefined : decodeToken(token)), [token]);
  const context = useMemo(
    () => ({
      language,
      t: translator(language),
      setLanguage(next: Language) {
        localStorage.setItem('leadflow.lang', next);
        document.documentElement.lang = next;
        setLanguageState(next);
      },
    }),
    [language],
  );
  useEffect(() => {
    document.documentElement.lang = language;
  }, [language]);
  return (
    <LanguageContext.Provider value={context}>
      {claims === undefined ? (
        <LoginScreen
          onToken={(value) => {
            storeToken(value);
            setToken(value);
          }}
        />
      ) : (
        <Shell
          claims={claims}
          onLogout={() => {
            clearToken();
            setToken(undefined);
            navigate('/login');
          }}
        />
      )}
    </LanguageContext.Provider>
  );
}
