import { NavLink, Outlet, useSearchParams } from 'react-router';
import { AlertOctagon, Flag, KeyRound, LayoutDashboard, MessageSquare, Radio, ShieldCheck, Webhook } from 'lucide-react';
import { useDecidableCount } from '../changeRequests/hooks';
import { useLive, type LiveStatus } from '../live/LiveProvider';
import { AccountMenu, useAuth } from '../auth/AuthGate';
import { EnvironmentSwitcher } from './EnvironmentSwitcher';

const links = [
  { to: '/', label: 'Dashboard', icon: LayoutDashboard, end: true },
  { to: '/flags', label: 'Flags', icon: Flag, end: false },
  { to: '/chat', label: 'AI Chat', icon: MessageSquare, end: false },
  { to: '/anomalies', label: 'Anomalies', icon: AlertOctagon, end: false },
  { to: '/webhooks', label: 'Webhooks', icon: Webhook, end: false },
  { to: '/approvals', label: 'Approvals', icon: ShieldCheck, end: false },
];

/** The count of pending change requests this key may decide (issue 27), on the Approvals link. */
function ApprovalsBadge() {
  const n = useDecidableCount();
  if (n === 0) return null;
  return <span data-testid="approvals-badge" className="ml-0.5 rounded-full bg-amber-500 px-1.5 text-[11px] font-bold leading-4 text-white">{n}</span>;
}

/** Only admins manage keys; the page is hidden from others (the API refuses them anyway). */
const adminLinks = [{ to: '/keys', label: 'Keys', icon: KeyRound, end: false }];

const statusText: Record<LiveStatus, string> = {
  live: 'Live',
  connecting: 'Connecting…',
  reconnecting: 'Reconnecting…',
  offline: 'Offline — polling',
};

export function LiveBadge() {
  const { status, problem } = useLive();
  const color = status === 'live' ? 'text-emerald-700 bg-emerald-50 ring-emerald-200'
    : status === 'offline' ? 'text-amber-800 bg-amber-50 ring-amber-200' : 'text-slate-600 bg-slate-50 ring-slate-200';
  return (
    <span data-testid="live-status" data-status={status} title={problem ?? undefined}
      className={`inline-flex items-center gap-1.5 rounded-full px-2.5 py-1 text-xs font-medium ring-1 ${color}`}>
      <Radio className={`h-3.5 w-3.5 ${status === 'live' ? 'animate-pulse' : ''}`} /> {statusText[status]}
    </span>
  );
}

export function Layout() {
  const [params] = useSearchParams();
  const me = useAuth()?.me;
  const isAdmin = me?.role === 'admin' || me?.authMode === 'disabled';
  // the header's environment travels with every link, so each page opens showing the same environment
  const environment = params.get('environment');
  const search = environment ? `?${new URLSearchParams({ environment })}` : '';
  return (
    <div className="min-h-screen">
      <header className="sticky top-0 z-10 border-b border-slate-200 bg-white/90 backdrop-blur">
        <div className="mx-auto flex max-w-7xl items-center gap-6 px-4 py-3">
          <span className="flex items-center gap-2 text-lg font-bold text-indigo-700"><Flag className="h-5 w-5" /> FlagAnalyzer</span>
          <nav className="flex flex-1 gap-1">
            {[...links, ...(isAdmin ? adminLinks : [])].map(({ to, label, icon: Icon, end }) => (
              <NavLink key={to} to={{ pathname: to, search }} end={end} data-testid={`nav-${label.toLowerCase().replace(/\s+/g, '-')}`}
                className={({ isActive }) => `flex items-center gap-1.5 rounded-lg px-3 py-1.5 text-sm font-medium ${isActive ? 'bg-indigo-50 text-indigo-700' : 'text-slate-600 hover:bg-slate-100'}`}>
                <Icon className="h-4 w-4" /> {label}{to === '/approvals' && <ApprovalsBadge />}
              </NavLink>
            ))}
          </nav>
          <EnvironmentSwitcher />
          <LiveBadge />
          <AccountMenu />
        </div>
      </header>
      <main className="mx-auto max-w-7xl px-4 py-6">
        <Outlet />
      </main>
    </div>
  );
}
