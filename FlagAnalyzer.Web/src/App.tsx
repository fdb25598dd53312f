import { lazy, Suspense } from 'react';
import { createBrowserRouter, Link, RouterProvider, useRouteError } from 'react-router';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { Layout } from './components/Layout';
import { ErrorBanner, Loading } from './components/ui';
import { LiveProvider } from './live/LiveProvider';
import { AuthGate } from './auth/AuthGate';
import Dashboard from './pages/Dashboard';
import Flags from './pages/Flags';
import Anomalies from './pages/Anomalies';

// the chart library only loads with the flag detail page; chat is rarely the first page
const FlagDetail = lazy(() => import('./pages/FlagDetail'));
const Chat = lazy(() => import('./pages/Chat'));
const Keys = lazy(() => import('./pages/Keys'));
const Webhooks = lazy(() => import('./pages/Webhooks'));
const Approvals = lazy(() => import('./pages/Approvals'));

function RouteError() {
  const error = useRouteError();
  return <div className="mx-auto max-w-3xl space-y-3 p-6"><ErrorBanner error={error} what="Something broke" /><Link className="text-indigo-700 underline" to="/">Back to the dashboard</Link></div>;
}

function NotFound() {
  return <div className="space-y-2" data-testid="not-found"><h1 className="text-xl font-bold">Page not found</h1><Link className="text-indigo-700 underline" to="/">Back to the dashboard</Link></div>;
}

const lazyPage = (el: React.ReactNode) => <Suspense fallback={<Loading what="Loading page" />}>{el}</Suspense>;

export const routes = [
  {
    path: '/',
    element: <Layout />,
    errorElement: <RouteError />,
    children: [
      { index: true, element: <Dashboard /> },
      { path: 'flags', element: <Flags /> },
      { path: 'flags/:id', element: lazyPage(<FlagDetail />) },
      { path: 'chat', element: lazyPage(<Chat />) },
      { path: 'anomalies', element: <Anomalies /> },
      { path: 'keys', element: lazyPage(<Keys />) },
      { path: 'webhooks', element: lazyPage(<Webhooks />) },
      { path: 'approvals', element: lazyPage(<Approvals />) },
      { path: '*', element: <NotFound /> },
    ],
  },
];

export function createQueryClient() {
  return new QueryClient({
    defaultOptions: {
      queries: {
        staleTime: 10_000,
        retry: (count, e) => count < 2 && !(e instanceof Error && 'status' in e && (e as { status: number }).status >= 400 && (e as { status: number }).status < 500),
        refetchOnWindowFocus: true,
      },
    },
  });
}

const router = createBrowserRouter(routes, { basename: '/ui' });
const queryClient = createQueryClient();

export default function App() {
  return (
    <QueryClientProvider client={queryClient}>
      <AuthGate>
        <LiveProvider>
          <RouterProvider router={router} />
        </LiveProvider>
      </AuthGate>
    </QueryClientProvider>
  );
}
