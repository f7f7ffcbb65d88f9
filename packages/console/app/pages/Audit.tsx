import { Button, Code, Group, Paper, Select, SimpleGrid, Stack, Table, Text, TextInput } from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { type AuditEvent, api, query } from '../api.ts';
import { Empty, ErrorState, Loading, PageTitle, when } from '../ui.tsx';

const PAGE = 25;

const FAMILIES = [
  { value: '', label: 'Every action' },
  { value: 'key.*', label: 'Keys (key.*)' },
  { value: 'account.*', label: 'Accounts (account.*)' },
  { value: 'session.*', label: 'Sessions (session.*)' },
  { value: 'token.*', label: 'Access tokens (token.*)' },
];

export function AuditPage() {
  const [action, setAction] = useState('');
  const [actor, setActor] = useState('');
  const [object, setObject] = useState('');
  const [filters] = useDebouncedValue({ action, actor: actor.trim(), object: object.trim() }, 300);
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const before = cursors.at(-1);
  const events = useQuery({
    queryKey: ['audit', filters, before],
    queryFn: () =>
      api<{ events: AuditEvent[]; next: string | null }>(
        'GET',
        `/v1/admin/audit${query({ ...filters, before, limit: PAGE })}`,
      ),
  });
  const reset = () => setCursors([undefined]);
  return (
    <Stack>
      <PageTitle>Audit log</PageTitle>
      <Paper withBorder p="md" radius="md">
        <SimpleGrid cols={{ base: 1, sm: 3 }}>
          <Select
            label="Action"
            data={FAMILIES}
            value={action}
            onChange={(v) => {
              setAction(v ?? '');
              reset();
            }}
            allowDeselect={false}
          />
          <TextInput
            label="Actor id"
            placeholder="acc_… or kw_kid_…"
            value={actor}
            onChange={(e) => {
              setActor(e.currentTarget.value);
              reset();
            }}
          />
          <TextInput
            label="Object id"
            placeholder="The key, account or session acted on"
            value={object}
            onChange={(e) => {
              setObject(e.currentTarget.value);
              reset();
            }}
          />
        </SimpleGrid>
      </Paper>
      {events.isPending ? (
        <Loading what="the audit log" />
      ) : events.isError ? (
        <ErrorState error={events.error} retry={() => void events.refetch()} what="the audit log" />
      ) : events.data.events.length === 0 ? (
        <Empty title="No events">No event matches these filters. Clear a filter to see more.</Empty>
      ) : (
        <>
          <Table.ScrollContainer minWidth={760}>
            <Table striped data-testid="audit-table">
              <Table.Caption>Events, newest first</Table.Caption>
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Time</Table.Th>
                  <Table.Th>Action</Table.Th>
                  <Table.Th>Actor</Table.Th>
                  <Table.Th>Object</Table.Th>
                  <Table.Th>Address</Table.Th>
                  <Table.Th>Detail</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {events.data.events.map((e) => (
                  <Table.Tr key={e.id} data-testid="audit-row">
                    <Table.Td style={{ whiteSpace: 'nowrap' }}>{when(e.at)}</Table.Td>
                    <Table.Td>
                      <Code fw={700}>{e.action}</Code>
                    </Table.Td>
                    <Table.Td>
                      <Text size="xs">
                        {e.actor.type} <Code>{e.actor.id ?? '—'}</Code>
                      </Text>
                    </Table.Td>
                    <Table.Td>
                      <Text size="xs">
                        {e.object.type} <Code>{e.object.id ?? '—'}</Code>
                      </Text>
                    </Table.Td>
                    <Table.Td>
                      <Text size="xs" ff="monospace">
                        {e.ip ?? '—'}
                      </Text>
                    </Table.Td>
                    <Table.Td>
                      <Text size="xs" ff="monospace" style={{ wordBreak: 'break-all' }}>
                        {e.detail === null ? '' : JSON.stringify(e.detail)}
                      </Text>
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
          <Group>
            <Button variant="default" disabled={cursors.length === 1} onClick={() => setCursors((c) => c.slice(0, -1))}>
              Newer
            </Button>
            <Button
              variant="default"
              disabled={events.data.next === null}
              onClick={() => setCursors((c) => [...c, events.data.next ?? undefined])}
            >
              Older
            </Button>
          </Group>
        </>
      )}
    </Stack>
  );
}
