import type { ReactNode } from 'react';
import { AlertTriangle, Inbox, Loader2 } from 'lucide-react';
import { errorMessage } from '../api/client';
import type { RiskLevel } from '../api/types';

export function Card({ title, icon, actions, children, testId }: {
  title?: ReactNode; icon?: ReactNode; actions?: ReactNode; children: ReactNode; testId?: string;
}) {
  return (
    <section data-testid={testId} className="rounded-xl border border-slate-200 bg-white p-4 shadow-sm">
      {(title || actions) && (
        <header className="mb-3 flex items-center justify-between gap-2">
          <h2 className="flex items-center gap-2 text-sm font-semibold uppercase tracking-wide text-slate-600">{icon}{title}</h2>
          {actions}
        </header>
      )}
      {children}
    </section>
  );
}

export function Loading({ what = 'Loading' }: { what?: string }) {
  return (
    <div role="status" data-testid="loading" className="flex items-center gap-2 py-6 text-sm text-slate-500">
      <Loader2 className="h-4 w-4 animate-spin" /> {what}…
    </div>
  );
}

export function Empty({ children, testId = 'empty' }: { children: ReactNode; testId?: string }) {
  return (
    <div data-testid={testId} className="flex items-center gap-2 rounded-lg border border-dashed border-slate-300 px-4 py-6 text-sm text-slate-500">
      <Inbox className="h-4 w-4 shrink-0" /> <span>{children}</span>
    </div>
  );
}

export function ErrorBanner({ error, what }: { error: unknown; what?: string }) {
  if (!error) return null;
  return (
    <div role="alert" data-testid="error" className="flex items-start gap-2 rounded-lg border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-800">
      <AlertTriangle className="mt-0.5 h-4 w-4 shrink-0" />
      <span>{what ? <strong>{what}: </strong> : null}{errorMessage(error)}</span>
    </div>
  );
}

const riskColors: Record<string, string> = {
  low: 'bg-emerald-100 text-emerald-800 ring-emerald-200',
  medium: 'bg-amber-100 text-amber-800 ring-amber-200',
  high: 'bg-orange-100 text-orange-800 ring-orange-200',
  critical: 'bg-red-100 text-red-800 ring-red-200',
};

export function RiskBadge({ level, testId = 'risk-level' }: { level: RiskLevel | string; testId?: string }) {
  return (
    <span data-testid={testId} className={`inline-flex items-center rounded-full px-2 py-0.5 text-xs font-semibold ring-1 ${riskColors[level] ?? 'bg-slate-100 text-slate-700 ring-slate-200'}`}>
      {level}
    </span>
  );
}

export function Pill({ children, className = '' }: { children: ReactNode; className?: string }) {
  return <span className={`inline-flex items-center rounded-md bg-slate-100 px-1.5 py-0.5 text-xs text-slate-700 ${className}`}>{children}</span>;
}

export function Button({ children, variant = 'secondary', className = '', ...rest }:
  React.ButtonHTMLAttributes<HTMLButtonElement> & { variant?: 'primary' | 'secondary' | 'danger' }) {
  const styles = {
    primary: 'bg-indigo-600 text-white hover:bg-indigo-700 disabled:bg-indigo-300',
    secondary: 'bg-white text-slate-700 ring-1 ring-slate-300 hover:bg-slate-50 disabled:text-slate-400',
    danger: 'bg-red-600 text-white hover:bg-red-700 disabled:bg-red-300',
  }[variant];
  return (
    <button type="button" className={`inline-flex items-center justify-center gap-1.5 rounded-lg px-3 py-1.5 text-sm font-medium shadow-sm transition disabled:cursor-not-allowed ${styles} ${className}`} {...rest}>
      {children}
    </button>
  );
}

const rtf = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });

/** "3 minutes ago", with the exact UTC time as a tooltip. */
export function When({ at }: { at: string | null | undefined }) {
  if (!at) return null;
  const d = new Date(at);
  const secs = Math.round((d.getTime() - Date.now()) / 1000);
  const abs = Math.abs(secs);
  const text = abs < 45 ? rtf.format(secs, 'second')
    : abs < 2700 ? rtf.format(Math.round(secs / 60), 'minute')
    : abs < 64800 ? rtf.format(Math.round(secs / 3600), 'hour')
    : rtf.format(Math.round(secs / 86400), 'day');
  return <time dateTime={at} title={d.toISOString()}>{text}</time>;
}
