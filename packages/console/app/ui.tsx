// Shared pieces: loading, error and empty states that say what to do, and formatting.
import { Alert, Button, Center, Group, Loader, Paper, Stack, Text, Title } from '@mantine/core';
import type { ReactNode } from 'react';
import { ApiError } from './api.ts';

export function Loading({ what }: { what: string }) {
  return (
    <Center py="xl" role="status" aria-live="polite">
      <Group gap="sm">
        <Loader size="sm" aria-hidden />
        <Text c="dimmed">Loading {what}…</Text>
      </Group>
    </Center>
  );
}

/** What a failure means for the person looking at the page, and what to do about it. */
export function explain(error: unknown): string {
  if (!(error instanceof ApiError)) return 'Something went wrong in the console. Reload the page.';
  switch (error.code) {
    case 'network':
      return error.message;
    case 'forbidden':
    case 'insufficient_scope':
      return 'Your account may not do this. Ask an admin.';
    case 'rate_limited':
      return 'Too many attempts. Wait a minute, then try again.';
    case 'store_unavailable':
      return 'The server cannot reach its database right now. Try again in a moment.';
    case 'csrf_token_invalid':
      return 'The page is out of date. Reload it and try again.';
    case 'not_found':
      return `${error.message} This server may not offer it yet.`;
    default:
      return `${error.message}${error.requestId === undefined ? '' : ` (request ${error.requestId})`}`;
  }
}

export function ErrorState({ error, retry, what }: { error: unknown; retry?: () => void; what: string }) {
  return (
    <Alert color="red" title={`Could not load ${what}`} role="alert">
      <Stack gap="xs" align="flex-start">
        <Text size="sm">{explain(error)}</Text>
        {retry === undefined ? null : (
          <Button size="xs" variant="light" color="red" onClick={retry}>
            Try again
          </Button>
        )}
      </Stack>
    </Alert>
  );
}

export function Empty({ title, children, action }: { title: string; children: ReactNode; action?: ReactNode }) {
  return (
    <Paper withBorder p="xl" radius="md">
      <Stack align="center" gap="xs">
        <Title order={3} size="h4">
          {title}
        </Title>
        <Text c="dimmed" ta="center" size="sm">
          {children}
        </Text>
        {action}
      </Stack>
    </Paper>
  );
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

export function when(ms: number | null | undefined, never = '—'): string {
  return ms === null || ms === undefined ? never : dateTime.format(new Date(ms));
}

export function PageTitle({ children, actions }: { children: ReactNode; actions?: ReactNode }) {
  return (
    <Group justify="space-between" mb="md" wrap="wrap">
      <Title order={1} size="h2">
        {children}
      </Title>
      {actions}
    </Group>
  );
}
