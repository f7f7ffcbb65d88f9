import { Anchor, Badge, Button, Group, Pagination, Stack, Table, Text, TextInput } from '@mantine/core';
import { modals } from '@mantine/modals';
import { notifications } from '@mantine/notifications';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useMemo, useState } from 'react';
import { Link } from 'wouter';
import { api, type IssuedKey, type Key, query } from '../api.ts';
import { KeyForm, type KeyInput } from '../keyform.tsx';
import { showIssued } from '../secret.tsx';
import { Empty, ErrorState, explain, Loading, PageTitle, when } from '../ui.tsx';

const PAGE = 10;

export function statusColor(status: Key['status']): string {
  return status === 'active' ? 'teal' : status === 'disabled' ? 'orange' : 'gray';
}

export function openCreateKey(create: (input: KeyInput) => Promise<IssuedKey>, done: () => void): void {
  const id = modals.open({
    title: 'Create an API key',
    size: 'lg',
    children: (
      <KeyForm
        submitLabel="Create key"
        onSubmit={async (input) => {
          try {
            const issued = await create(input);
            modals.close(id);
            done();
            showIssued(issued);
          } catch (error) {
            notifications.show({ color: 'red', title: 'The key was not created', message: explain(error) });
          }
        }}
      />
    ),
  });
}

/** A table of keys with search and pages; `href` gives each key's page. */
export function KeyTable({ keys, href }: { keys: Key[]; href: (key: Key) => string }) {
  const [search, setSearch] = useState('');
  const [page, setPage] = useState(1);
  const found = useMemo(() => {
    const q = search.trim().toLowerCase();
    return q === ''
      ? keys
      : keys.filter(
          (k) =>
            k.name.toLowerCase().includes(q) || k.id.toLowerCase().includes(q) || k.scopes.some((s) => s.includes(q)),
        );
  }, [keys, search]);
  const pages = Math.max(1, Math.ceil(found.length / PAGE));
  const shown = found.slice((Math.min(page, pages) - 1) * PAGE, Math.min(page, pages) * PAGE);
  return (
    <Stack>
      <TextInput
        label="Search keys"
        placeholder="Name, id or scope"
        value={search}
        onChange={(e) => {
          setSearch(e.currentTarget.value);
          setPage(1);
        }}
        maw={360}
      />
      {found.length === 0 ? (
        <Text c="dimmed">No key matches “{search}”. Clear the search to see every key.</Text>
      ) : (
        <Table.ScrollContainer minWidth={640}>
          <Table striped highlightOnHover>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Name</Table.Th>
                <Table.Th>Key id</Table.Th>
                <Table.Th>Status</Table.Th>
                <Table.Th>Scopes</Table.Th>
                <Table.Th>Last used</Table.Th>
                <Table.Th>Expires</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {shown.map((k) => (
                <Table.Tr key={k.id}>
                  <Table.Td>
                    <Anchor component={Link} href={href(k)} data-testid="key-link">
                      {k.name}
                    </Anchor>
                  </Table.Td>
                  <Table.Td>
                    <Text size="xs" ff="monospace">
                      {k.id}
                    </Text>
                  </Table.Td>
                  <Table.Td>
                    <Badge color={statusColor(k.status)} variant="light">
                      {k.status}
                    </Badge>
                  </Table.Td>
                  <Table.Td>{k.scopes.length === 0 ? '—' : k.scopes.join(' ')}</Table.Td>
                  <Table.Td>{when(k.lastUsedAt, 'never')}</Table.Td>
                  <Table.Td>{when(k.expiresAt, 'never')}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      {pages > 1 ? (
        <Pagination
          total={pages}
          value={Math.min(page, pages)}
          onChange={setPage}
          getControlProps={(c) => ({ 'aria-label': `${c} page` })}
        />
      ) : null}
    </Stack>
  );
}

export function KeysPage() {
  const queries = useQueryClient();
  const [showRevoked, setShowRevoked] = useState(false);
  const keys = useQuery({
    queryKey: ['keys', showRevoked],
    queryFn: () => api<{ keys: Key[] }>('GET', `/v1/keys${query({ includeRevoked: showRevoked || undefined })}`),
  });
  const create = () =>
    openCreateKey(
      (input) => api<IssuedKey>('POST', '/v1/keys', input),
      () => void queries.invalidateQueries({ queryKey: ['keys'] }),
    );
  return (
    <>
      <PageTitle
        actions={
          <Group>
            <Button variant="default" onClick={() => setShowRevoked((v) => !v)}>
              {showRevoked ? 'Hide revoked keys' : 'Show revoked keys'}
            </Button>
            <Button onClick={create}>Create key</Button>
          </Group>
        }
      >
        My API keys
      </PageTitle>
      {keys.isPending ? (
        <Loading what="your keys" />
      ) : keys.isError ? (
        <ErrorState error={keys.error} retry={() => void keys.refetch()} what="your keys" />
      ) : keys.data.keys.length === 0 ? (
        <Empty title="No API keys yet" action={<Button onClick={create}>Create your first key</Button>}>
          A key lets a program call your API: with HTTP Basic, as a bearer token, through OAuth 2.0 client credentials
          or with signed OAuth 1.0a requests.
        </Empty>
      ) : (
        <KeyTable keys={keys.data.keys} href={(k) => `/keys/${k.id}`} />
      )}
    </>
  );
}
