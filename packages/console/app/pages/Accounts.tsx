import { Anchor, Badge, Button, Group, PasswordInput, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { modals } from '@mantine/modals';
import { notifications } from '@mantine/notifications';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { Link } from 'wouter';
import { type Account, api, type Key, query } from '../api.ts';
import { useAuth } from '../auth.tsx';
import { Empty, ErrorState, explain, Loading, PageTitle, when } from '../ui.tsx';
import { KeyTable } from './Keys.tsx';

const PAGE = 20;

function CreateAccountForm({ onCreated }: { onCreated: () => void }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [busy, setBusy] = useState(false);
  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    try {
      await api<Account>('POST', '/v1/accounts', {
        email,
        password,
        ...(displayName.trim() === '' ? {} : { displayName: displayName.trim() }),
      });
      modals.closeAll();
      notifications.show({ color: 'teal', message: `Account ${email} created. Give its owner the password.` });
      onCreated();
    } catch (error) {
      notifications.show({ color: 'red', title: 'The account was not created', message: explain(error) });
    } finally {
      setBusy(false);
    }
  }
  return (
    <form onSubmit={submit}>
      <Stack>
        <TextInput
          label="Email"
          type="email"
          required
          value={email}
          onChange={(e) => setEmail(e.currentTarget.value)}
          data-autofocus
        />
        <TextInput label="Display name" value={displayName} onChange={(e) => setDisplayName(e.currentTarget.value)} />
        <PasswordInput
          label="First password"
          description="8 to 128 characters; the owner changes it after signing in"
          autoComplete="new-password"
          required
          value={password}
          onChange={(e) => setPassword(e.currentTarget.value)}
        />
        <Group justify="flex-end">
          <Button type="submit" loading={busy}>
            Create account
          </Button>
        </Group>
      </Stack>
    </form>
  );
}

function AccountKeys({ account }: { account: Account }) {
  const keys = useQuery({
    queryKey: ['account-keys', account.id],
    queryFn: () => api<{ keys: Key[] }>('GET', `/v1/admin/accounts/${account.id}/keys?includeRevoked=true`),
  });
  if (keys.isPending) return <Loading what="the account's keys" />;
  if (keys.isError)
    return <ErrorState error={keys.error} retry={() => void keys.refetch()} what="the account's keys" />;
  if (keys.data.keys.length === 0)
    return <Empty title="No keys">This account has no API keys. Its owner creates them in the console.</Empty>;
  return <KeyTable keys={keys.data.keys} href={(k) => `/admin/keys/${k.id}`} />;
}

export function AccountsPage({ accountId }: { accountId?: string } = {}) {
  const queries = useQueryClient();
  const { account: me } = useAuth();
  const [search, setSearch] = useState('');
  const [debounced] = useDebouncedValue(search.trim(), 250);
  // Cursors of the pages seen, so that "Previous" goes back without the server keeping state.
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const after = cursors.at(-1);
  const accounts = useQuery({
    queryKey: ['accounts', debounced, after],
    queryFn: () =>
      api<{ accounts: Account[]; next: string | null }>(
        'GET',
        `/v1/admin/accounts${query({ search: debounced, after, limit: PAGE })}`,
      ),
  });
  const selected = useQuery({
    queryKey: ['account', accountId],
    enabled: accountId !== undefined,
    queryFn: async () => (await api<{ account: Account }>('GET', `/v1/admin/accounts/${accountId}`)).account,
  });
  const refresh = () => {
    void queries.invalidateQueries({ queryKey: ['accounts'] });
    void queries.invalidateQueries({ queryKey: ['account'] });
    void queries.invalidateQueries({ queryKey: ['account-keys'] });
  };
  const setStatus = (a: Account, action: 'disable' | 'enable') =>
    modals.openConfirmModal({
      title: `${action === 'disable' ? 'Disable' : 'Enable'} ${a.email}?`,
      children: (
        <Text size="sm">
          {action === 'disable'
            ? 'The account is signed out everywhere, and its keys and access tokens stop working at once.'
            : 'The account can sign in again, and the keys disabled with it work again.'}
        </Text>
      ),
      labels: { confirm: action === 'disable' ? 'Disable account' : 'Enable account', cancel: 'Cancel' },
      confirmProps: { color: action === 'disable' ? 'red' : 'teal' },
      onConfirm: async () => {
        try {
          await api('POST', `/v1/admin/accounts/${a.id}/${action}`);
          notifications.show({ color: 'teal', message: `${a.email} is ${action}d.` });
          refresh();
        } catch (error) {
          notifications.show({ color: 'red', title: `The account was not ${action}d`, message: explain(error) });
        }
      },
    });
  const create = () => modals.open({ title: 'Create an account', children: <CreateAccountForm onCreated={refresh} /> });

  const statusButton = (a: Account) =>
    a.id === me?.id ? null : a.status === 'active' ? (
      <Button size="xs" variant="light" color="red" onClick={() => setStatus(a, 'disable')}>
        Disable
      </Button>
    ) : (
      <Button size="xs" variant="light" color="teal" onClick={() => setStatus(a, 'enable')}>
        Enable
      </Button>
    );

  return (
    <Stack>
      <PageTitle actions={<Button onClick={create}>Create account</Button>}>Accounts</PageTitle>
      {accountId === undefined ? null : selected.isPending ? (
        <Loading what="the account" />
      ) : selected.isError ? (
        <ErrorState error={selected.error} what="the account" />
      ) : (
        <Stack gap="sm">
          <Group justify="space-between">
            <Title order={2} size="h3">
              Keys of {selected.data.email}{' '}
              <Badge variant="light" color={selected.data.status === 'active' ? 'teal' : 'orange'}>
                {selected.data.status}
              </Badge>
            </Title>
            {statusButton(selected.data)}
          </Group>
          <AccountKeys account={selected.data} />
        </Stack>
      )}
      <TextInput
        label="Search accounts"
        placeholder="Part of an email address"
        value={search}
        onChange={(e) => {
          setSearch(e.currentTarget.value);
          setCursors([undefined]);
        }}
        maw={360}
      />
      {accounts.isPending ? (
        <Loading what="accounts" />
      ) : accounts.isError ? (
        <ErrorState error={accounts.error} retry={() => void accounts.refetch()} what="accounts" />
      ) : accounts.data.accounts.length === 0 ? (
        <Empty title="No accounts found">
          {debounced === ''
            ? 'There are no accounts yet: create one.'
            : 'No email address contains this. Try part of it.'}
        </Empty>
      ) : (
        <>
          <Table.ScrollContainer minWidth={640}>
            <Table striped highlightOnHover>
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Email</Table.Th>
                  <Table.Th>Role</Table.Th>
                  <Table.Th>Status</Table.Th>
                  <Table.Th>Created</Table.Th>
                  <Table.Th>Actions</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {accounts.data.accounts.map((a) => (
                  <Table.Tr key={a.id} data-testid="account-row">
                    <Table.Td>
                      <Anchor component={Link} href={`/admin/accounts/${a.id}`}>
                        {a.email}
                      </Anchor>
                    </Table.Td>
                    <Table.Td>{a.role}</Table.Td>
                    <Table.Td>
                      <Badge variant="light" color={a.status === 'active' ? 'teal' : 'orange'}>
                        {a.status}
                      </Badge>
                    </Table.Td>
                    <Table.Td>{when(a.createdAt)}</Table.Td>
                    <Table.Td>{statusButton(a)}</Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
          <Group>
            <Button variant="default" disabled={cursors.length === 1} onClick={() => setCursors((c) => c.slice(0, -1))}>
              Previous page
            </Button>
            <Button
              variant="default"
              disabled={accounts.data.next === null}
              onClick={() => setCursors((c) => [...c, accounts.data.next ?? undefined])}
            >
              Next page
            </Button>
          </Group>
        </>
      )}
    </Stack>
  );
}
