import '@mantine/core/styles.css';
import '@mantine/charts/styles.css';
import '@mantine/notifications/styles.css';
import { type CSSVariablesResolver, createTheme, darken, MantineProvider, Modal, Notification } from '@mantine/core';
import { ModalsProvider } from '@mantine/modals';
import { Notifications } from '@mantine/notifications';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { setNonce } from 'get-nonce';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { Router } from 'wouter';
import { App } from './App.tsx';
import { ApiError } from './api.ts';

// The nonce the server made for this page load: the theme's <style> elements carry it, so the
// Content-Security-Policy admits them and no other inline style.
const nonce = document.querySelector<HTMLMetaElement>('meta[name="csp-nonce"]')?.content ?? '';
// The modals' scroll lock writes its <style> through get-nonce: the same nonce.
setNonce(nonce);

const theme = createTheme({
  primaryColor: 'indigo',
  // White on indigo 6 is 4.3:1; on 7 and 8 it passes WCAG AA (4.5:1).
  primaryShade: { light: 7, dark: 8 },
  // Text on filled buttons and badges meets WCAG AA contrast in light and dark.
  autoContrast: true,
  defaultRadius: 'md',
  // No transitions for those who asked their system for less motion.
  respectReducedMotion: true,
  // Icon-only close buttons get a name screen readers can say.
  components: {
    Modal: Modal.extend({ defaultProps: { closeButtonProps: { 'aria-label': 'Close the dialog' } } }),
    Notification: Notification.extend({ defaultProps: { closeButtonProps: { 'aria-label': 'Dismiss' } } }),
  },
});

// Secondary ("dimmed") text one shade darker in light and lighter in dark than Mantine's default,
// so that it meets WCAG AA contrast (4.5:1) on the page and on cards.
// Text of the "light" variants (badges, alerts) darker in light, for the same reason: yellow 9
// on yellow 1 is 2.7:1.
const contrast: CSSVariablesResolver = (t) => ({
  variables: {},
  light: {
    '--mantine-color-dimmed': 'var(--mantine-color-gray-7)',
    ...Object.fromEntries(
      Object.entries(t.colors).map(([name, shades]) => [
        `--mantine-color-${name}-light-color`,
        darken(shades[9], 0.45),
      ]),
    ),
  },
  dark: { '--mantine-color-dimmed': 'var(--mantine-color-dark-1)' },
});

const queries = new QueryClient({
  defaultOptions: {
    queries: {
      // A refusal (4xx) will not change by asking again; a network failure might.
      retry: (count, error) => count < 2 && !(error instanceof ApiError && error.status >= 400 && error.status < 500),
      refetchOnWindowFocus: false,
    },
  },
});

const root = document.getElementById('root');
if (root === null) throw new Error('no #root element');
createRoot(root).render(
  <StrictMode>
    <MantineProvider
      theme={theme}
      cssVariablesResolver={contrast}
      defaultColorScheme="auto"
      getStyleNonce={() => nonce}
    >
      <QueryClientProvider client={queries}>
        <ModalsProvider>
          <Notifications position="top-right" />
          <Router base="/console">
            <App />
          </Router>
        </ModalsProvider>
      </QueryClientProvider>
    </MantineProvider>
  </StrictMode>,
);
