import { NavLink, Outlet } from 'react-router';
import { AlertOctagon, Flag, LayoutDashboard, MessageSquare, Radio, Webhook } from 'lucide-react';
import { useLive, type LiveStatus } from '../live/LiveProvider';
import { AccountMenu } from '../auth/AuthGate';

const links = [
  { to: '/', label: 'Dashboard', icon: LayoutDashboard, end: true },
  { to: '/flags', label: 'Flags', icon: Flag, end: false },
  { to: '/chat', label: 'AI Chat', icon: MessageSquare, end: false },
  { to: '/anomalies', label: 'Anomalies', icon: AlertOctagon, end: false },
  { to: '/webhooks', label: 'Webhooks', icon: Webhook, end: false },
];

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
  return (
    <div className="min-h-screen">
      <header className="sticky top-0 z-10 border-b border-slate-200 bg-white/90 backdrop-blur">
        <div className="mx-auto flex max-w-7xl items-center gap-6 px-4 py-3">
          <span className="flex items-center gap-2 text-lg font-bold text-indigo-700"><Flag className="h-5 w-5" /> FlagAnalyzer</span>
          <nav className="flex flex-1 gap-1">
            {links.map(({ to, label, icon: Icon, end }) => (
              <NavLink key={to} to={to} end={end} data-testid={`nav-${label.toLowerCase().replace(/\s+/g, '-')}`}
                className={({ isActive }) => `flex items-center gap-1.5 rounded-lg px-3 py-1.5 text-sm font-medium ${isActive ? 'bg-indigo-50 text-indigo-700' : 'text-slate-600 hover:bg-slate-100'}`}>
                <Icon className="h-4 w-4" /> {label}
              </NavLink>
            ))}
          </nav>
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
