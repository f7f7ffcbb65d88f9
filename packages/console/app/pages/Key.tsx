import { Anchor, Badge, Button, Group, NumberInput, Paper, SimpleGrid, Stack, Text, Title } from '@mantine/core';
import { modals } from '@mantine/modals';
import { notifications } from '@mantine/notifications';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link } from 'wouter';
import { api, type IssuedKey, type Key, type RefusalRow, type Usage } from '../api.ts';
import { RefusalCodesChart, RefusalsTable, UsageChart, type Window, WindowPicker } from '../charts.tsx';
import { KeyForm, type KeyInput } from '../keyform.tsx';
import { showIssued } from '../secret.tsx';
import { ErrorState, explain, Loading, PageTitle, when } from '../ui.tsx';
import { statusColor } from './Keys.tsx';

/** The endpoints of one key: the owner's, or the admin API's. */
function endpoints(keyId: string, admin: boolean) {
  const base = admin ? `/v1/admin/keys/${keyId}` : `/v1/keys/${keyId}`;
  return {
    get: async () => (admin ? (await api<{ key: Key }>('GET', base)).key : api<Key>('GET', base)),
    update: async (input: KeyInput) =>
      admin ? (await api<{ key: Key }>('PATCH', base, input)).key : api<Key>('PATCH', base, input),
    revoke: async () => (admin ? (await api<{ key: Key }>('POST', `${base}/revoke`)).key : api<Key>('DELETE', base)),
    rotate: (graceSeconds: number) => api<IssuedKey>('POST', `${base}/rotate`, { graceSeconds }),
    usage: (window: Window) => api<Usage>('GET', `${base}/usage?window=${window}`),
    refusals: () => api<{ refusals: RefusalRow[] }>('GET', `${base}/refusals?limit=50`),
  };
}

function Fact({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <Stack gap={2}>
      <Text size="xs" c="dimmed" fw={600} tt="uppercase">
        {label}
      </Text>
      <Text size="sm" component="div">
        {children}
      </Text>
    </Stack>
  );
}

function RotateForm({ onRotate }: { onRotate: (grace: number) => Promise<void> }) {
  const [minutes, setMinutes] = useState<number | string>(24 * 60);
  const [busy, setBusy] = useState(false);
  return (
    <Stack>
      <Text size="sm">
        The key gets a new secret. Callers still using the old one keep working during the grace period, then are
        refused.
      </Text>
      <NumberInput
        label="Grace period (minutes)"
        description="0 ends the old secret now; at most 30 days"
        min={0}
        max={30 * 24 * 60}
        allowDecimal={false}
        value={minutes}
        onChange={setMinutes}
        data-autofocus
      />
      <Group justify="flex-end">
        <Button variant="default" onClick={() => modals.closeAll()}>
          Cancel
        </Button>
        <Button
          loading={busy}
          onClick={async () => {
            setBusy(true);
            try {
              await onRotate(Math.max(0, Number(minutes) || 0) * 60);
            } finally {
              setBusy(false);
            }
          }}
        >
          Rotate
        </Button>
      </Group>
    </Stack>
  );
}

export function KeyPage({ keyId, admin }: { keyId: string; admin: boolean }) {
  const queries = useQueryClient();
  const [window, setWindow] = useState<Window>('24h');
  const calls = endpoints(keyId, admin);
  const key = useQuery({ queryKey: ['key', admin, keyId], queryFn: calls.get });
  const usage = useQuery({ queryKey: ['key-usage', admin, keyId, window], queryFn: () => calls.usage(window) });
  const refusals = useQuery({ queryKey: ['key-refusals', admin, keyId], queryFn: calls.refusals });
  const refresh = () => {
    void queries.invalidateQueries({ queryKey: ['key', admin, keyId] });
    void queries.invalidateQueries({ queryKey: ['keys'] });
    void queries.invalidateQueries({ queryKey: ['account-keys'] });
  };

  if (key.isPending) return <Loading what="the key" />;
  if (key.isError) return <ErrorState error={key.error} retry={() => void key.refetch()} what="the key" />;
  const k = key.data;
  const live = k.status !== 'revoked';

  const edit = () => {
    const id = modals.open({
      title: `Edit ${k.name}`,
      size: 'lg',
      children: (
        <KeyForm
          existing={k}
          submitLabel="Save changes"
          onSubmit={async (input) => {
            try {
              await calls.update(input);
              modals.close(id);
              refresh();
              notifications.show({ color: 'teal', message: 'The key was saved.' });
            } catch (error) {
              notifications.show({ color: 'red', title: 'The key was not saved', message: explain(error) });
            }
          }}
        />
      ),
    });
  };
  const rotate = () =>
    modals.open({
      title: `Rotate ${k.name}`,
      children: (
        <RotateForm
          onRotate={async (grace) => {
            try {
              const issued = await calls.rotate(grace);
              modals.closeAll();
              refresh();
              showIssued(issued, true);
            } catch (error) {
              notifications.show({ color: 'red', title: 'The key was not rotated', message: explain(error) });
            }
          }}
        />
      ),
    });
  const revoke = () =>
    modals.openConfirmModal({
      title: `Revoke ${k.name}?`,
      children: (
        <Text size="sm">
          Every call made with this key, and with the access tokens issued to it, is refused from now on. This cannot be
          undone: create a new key if you need one again.
        </Text>
      ),
      labels: { confirm: 'Revoke the key', cancel: 'Keep it' },
      confirmProps: { color: 'red' },
      onConfirm: async () => {
        try {
          await calls.revoke();
          refresh();
          notifications.show({ color: 'teal', message: `${k.name} is revoked.` });
        } catch (error) {
          notifications.show({ color: 'red', title: 'The key was not revoked', message: explain(error) });
        }
      },
    });

  return (
    <Stack>
      <Anchor component={Link} href={admin ? `/admin/accounts/${k.accountId}` : '/keys'} size="sm">
        ← {admin ? 'The account' : 'My API keys'}
      </Anchor>
      <PageTitle
        actions={
          live ? (
            <Group>
              <Button variant="default" onClick={edit}>
                Edit
              </Button>
              <Button variant="default" onClick={rotate}>
                Rotate
              </Button>
              <Button color="red" variant="light" onClick={revoke}>
                Revoke
              </Button>
            </Group>
          ) : undefined
        }
      >
        <span data-testid="key-name">{k.name}</span>{' '}
        <Badge color={statusColor(k.status)} variant="light" data-testid="key-status">
          {k.status}
        </Badge>
      </PageTitle>
      <Paper withBorder p="md" radius="md">
        <SimpleGrid cols={{ base: 1, xs: 2, md: 4 }}>
          <Fact label="Key id">
            <Text size="xs" ff="monospace" component="span" style={{ wordBreak: 'break-all' }}>
              {k.id}
            </Text>
          </Fact>
          <Fact label="Scopes">{k.scopes.length === 0 ? 'none' : k.scopes.join(' ')}</Fact>
          <Fact label="Methods">{k.methods === null ? 'every method' : k.methods.join(', ')}</Fact>
          <Fact label="Rate limit">
            {k.rateLimit === null ? 'none of its own' : `${k.rateLimit.limit} per ${k.rateLimit.windowSeconds} s`}
          </Fact>
          <Fact label="Created">{when(k.createdAt)}</Fact>
          <Fact label="Expires">{when(k.expiresAt, 'never')}</Fact>
          <Fact label="Last used">{when(k.lastUsedAt, 'never')}</Fact>
          <Fact label="Uses">{k.useCount}</Fact>
        </SimpleGrid>
      </Paper>
      <Group justify="space-between">
        <Title order={2} size="h3">
          Usage
        </Title>
        <WindowPicker value={window} onChange={setWindow} />
      </Group>
      {usage.isPending ? (
        <Loading what="usage" />
      ) : usage.isError ? (
        <ErrorState error={usage.error} retry={() => void usage.refetch()} what="usage" />
      ) : (
        <UsageChart usage={usage.data} window={window} title="Requests per hour, by method and outcome" />
      )}
      <Title order={2} size="h3">
        Recent refusals
      </Title>
      {refusals.isPending ? (
        <Loading what="refusals" />
      ) : refusals.isError ? (
        <ErrorState error={refusals.error} retry={() => void refusals.refetch()} what="refusals" />
      ) : (
        <>
          {refusals.data.refusals.length > 0 ? <RefusalCodesChart refusals={refusals.data.refusals} /> : null}
          <RefusalsTable refusals={refusals.data.refusals} />
        </>
      )}
    </Stack>
  );
}
