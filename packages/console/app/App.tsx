import {
  ActionIcon,
  AppShell,
  Burger,
  Button,
  Center,
  Group,
  NavLink,
  Text,
  Title,
  useComputedColorScheme,
  useMantineColorScheme,
} from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { Link, Redirect, Route, Switch, useLocation } from 'wouter';
import { AuthProvider, useAuth } from './auth.tsx';
import { AccountsPage } from './pages/Accounts.tsx';
import { AuditPage } from './pages/Audit.tsx';
import { KeyPage } from './pages/Key.tsx';
import { KeysPage } from './pages/Keys.tsx';
import { LoginPage } from './pages/Login.tsx';
import { OverviewPage } from './pages/Overview.tsx';
import { SessionsPage } from './pages/Sessions.tsx';
import { Loading } from './ui.tsx';

export function App() {
  return (
    <AuthProvider>
      <Shell />
    </AuthProvider>
  );
}

function ColorSchemeToggle() {
  const { setColorScheme } = useMantineColorScheme();
  const scheme = useComputedColorScheme('light');
  const next = scheme === 'dark' ? 'light' : 'dark';
  return (
    <ActionIcon variant="default" size="lg" aria-label={`Switch to ${next} theme`} onClick={() => setColorScheme(next)}>
      <span aria-hidden>{scheme === 'dark' ? '☀' : '☾'}</span>
    </ActionIcon>
  );
}

function Nav({ admin, onNavigate }: { admin: boolean; onNavigate: () => void }) {
  const [location] = useLocation();
  const item = (href: string, label: string) => (
    <NavLink
      key={href}
      component={Link}
      href={href}
      label={label}
      active={href === '/' ? location === '/' : location.startsWith(href)}
      aria-current={(href === '/' ? location === '/' : location.startsWith(href)) ? 'page' : undefined}
      onClick={onNavigate}
    />
  );
  return (
    <>
      {item('/keys', 'My API keys')}
      {item('/sessions', 'Sessions and password')}
      {admin ? (
        <>
          <Text size="xs" fw={700} c="dimmed" mt="md" mb={4} px="sm" tt="uppercase">
            Admin
          </Text>
          {item('/admin/usage', 'Usage and refusals')}
          {item('/admin/accounts', 'Accounts')}
          {item('/admin/audit', 'Audit log')}
        </>
      ) : null}
    </>
  );
}

function Shell() {
  const { account, signOut } = useAuth();
  const [opened, { toggle, close }] = useDisclosure();
  if (account === undefined) {
    return (
      <Center h="100vh">
        <Loading what="the console" />
      </Center>
    );
  }
  if (account === null) return <LoginPage />;
  const admin = account.role === 'admin';
  return (
    <AppShell
      header={{ height: 56 }}
      navbar={{ width: 240, breakpoint: 'sm', collapsed: { mobile: !opened } }}
      padding="md"
    >
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between" wrap="nowrap">
          <Group gap="sm" wrap="nowrap">
            <Burger opened={opened} onClick={toggle} hiddenFrom="sm" size="sm" aria-label="Show the menu" />
            <Title order={2} size="h4">
              Keyward
            </Title>
          </Group>
          <Group gap="sm" wrap="nowrap">
            <Text size="sm" visibleFrom="xs" data-testid="signed-in-as">
              {account.email}
            </Text>
            <ColorSchemeToggle />
            <Button variant="default" onClick={() => void signOut()}>
              Sign out
            </Button>
          </Group>
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="sm" aria-label="Console sections">
        <Nav admin={admin} onNavigate={close} />
      </AppShell.Navbar>
      <AppShell.Main>
        <Switch>
          <Route path="/">
            <Redirect to="/keys" />
          </Route>
          <Route path="/keys" component={KeysPage} />
          <Route path="/keys/:id">{(params) => <KeyPage keyId={params.id} admin={false} />}</Route>
          <Route path="/sessions" component={SessionsPage} />
          {admin ? <Route path="/admin/usage" component={OverviewPage} /> : null}
          {admin ? <Route path="/admin/accounts">{() => <AccountsPage />}</Route> : null}
          {admin ? (
            <Route path="/admin/accounts/:id">{(params) => <AccountsPage accountId={params.id} />}</Route>
          ) : null}
          {admin ? <Route path="/admin/keys/:id">{(params) => <KeyPage keyId={params.id} admin />}</Route> : null}
          {admin ? <Route path="/admin/audit" component={AuditPage} /> : null}
          <Route>
            <Title order={1} size="h2">
              Nothing here
            </Title>
            <Text mt="sm">
              This page does not exist. <Link href="/keys">Go to your API keys</Link>.
            </Text>
          </Route>
        </Switch>
      </AppShell.Main>
    </AppShell>
  );
}
