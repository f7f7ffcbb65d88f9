import { Badge, Button, Group, Paper, PasswordInput, Stack, Table, Text, Title, VisuallyHidden } from '@mantine/core';
import { modals } from '@mantine/modals';
import { notifications } from '@mantine/notifications';
import { useQuery } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { api, type Session } from '../api.ts';
import { ErrorState, explain, Loading, PageTitle, when } from '../ui.tsx';

function PasswordForm({ onChanged }: { onChanged: () => void }) {
  const [currentPassword, setCurrent] = useState('');
  const [newPassword, setNew] = useState('');
  const [busy, setBusy] = useState(false);
  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    try {
      const { sessionsEnded } = await api<{ sessionsEnded: number }>('POST', '/v1/account/password', {
        currentPassword,
        newPassword,
      });
      setCurrent('');
      setNew('');
      notifications.show({
        color: 'teal',
        title: 'Password changed',
        message: `Your other sessions (${sessionsEnded}) were ended; this one stays.`,
      });
      onChanged();
    } catch (error) {
      notifications.show({ color: 'red', title: 'The password was not changed', message: explain(error) });
    } finally {
      setBusy(false);
    }
  }
  return (
    <Paper withBorder p="md" radius="md" maw={480}>
      <form onSubmit={submit}>
        <Stack>
          <Title order={2} size="h4">
            Change password
          </Title>
          <PasswordInput
            label="Current password"
            autoComplete="current-password"
            required
            value={currentPassword}
            onChange={(e) => setCurrent(e.currentTarget.value)}
          />
          <PasswordInput
            label="New password"
            description="8 to 128 characters, not a common or repeated pattern"
            autoComplete="new-password"
            required
            value={newPassword}
            onChange={(e) => setNew(e.currentTarget.value)}
          />
          <Group justify="flex-end">
            <Button type="submit" loading={busy}>
              Change password
            </Button>
          </Group>
        </Stack>
      </form>
    </Paper>
  );
}

export function SessionsPage() {
  const sessions = useQuery({
    queryKey: ['sessions'],
    queryFn: () => api<{ sessions: Session[] }>('GET', '/v1/sessions'),
  });
  const endOne = async (s: Session) => {
    try {
      await api('DELETE', `/v1/sessions/${s.id}`);
      void sessions.refetch();
    } catch (error) {
      notifications.show({ color: 'red', title: 'The session was not ended', message: explain(error) });
    }
  };
  const endOthers = () =>
    modals.openConfirmModal({
      title: 'End every other session?',
      children: <Text size="sm">Every device signed in to your account, except this browser, is signed out.</Text>,
      labels: { confirm: 'End other sessions', cancel: 'Cancel' },
      confirmProps: { color: 'red' },
      onConfirm: async () => {
        try {
          const { ended } = await api<{ ended: number }>('DELETE', '/v1/sessions');
          notifications.show({ color: 'teal', message: `${ended} session(s) ended.` });
          void sessions.refetch();
        } catch (error) {
          notifications.show({ color: 'red', title: 'Sessions were not ended', message: explain(error) });
        }
      },
    });
  return (
    <Stack>
      <PageTitle
        actions={
          <Button color="red" variant="light" onClick={endOthers}>
            End all other sessions
          </Button>
        }
      >
        Sessions and password
      </PageTitle>
      {sessions.isPending ? (
        <Loading what="your sessions" />
      ) : sessions.isError ? (
        <ErrorState error={sessions.error} retry={() => void sessions.refetch()} what="your sessions" />
      ) : (
        <Table.ScrollContainer minWidth={600}>
          <Table striped>
            <Table.Caption>Your live sessions, newest first</Table.Caption>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Address</Table.Th>
                <Table.Th>Started</Table.Th>
                <Table.Th>Last seen</Table.Th>
                <Table.Th>Expires</Table.Th>
                <Table.Th>
                  <VisuallyHidden>Actions</VisuallyHidden>
                </Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {sessions.data.sessions.map((s) => (
                <Table.Tr key={s.id}>
                  <Table.Td>
                    <Text size="sm" ff="monospace" component="span">
                      {s.clientIp}
                    </Text>{' '}
                    {s.current ? (
                      <Badge variant="light" color="teal">
                        this browser
                      </Badge>
                    ) : s.signed ? (
                      <Badge variant="light">signed</Badge>
                    ) : null}
                  </Table.Td>
                  <Table.Td>{when(s.createdAt)}</Table.Td>
                  <Table.Td>{when(s.lastSeenAt)}</Table.Td>
                  <Table.Td>{when(Math.min(s.expiresAt, s.idleExpiresAt))}</Table.Td>
                  <Table.Td>
                    {s.current ? null : (
                      <Button size="xs" variant="subtle" color="red" onClick={() => void endOne(s)}>
                        End session
                      </Button>
                    )}
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      <PasswordForm onChanged={() => void sessions.refetch()} />
    </Stack>
  );
}
