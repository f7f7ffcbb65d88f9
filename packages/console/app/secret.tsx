// The one time a secret is shown: copy buttons, the warning, and ready calls with the key in them.
import { Alert, Button, Code, CopyButton, Group, Stack, Tabs, Text, Tooltip } from '@mantine/core';
import { modals } from '@mantine/modals';
import { type IssuedKey, KEY_METHODS } from './api.ts';
import { snippetsFor } from './snippets.ts';

function Copyable({ label, value, testId }: { label: string; value: string; testId: string }) {
  return (
    <Stack gap={4}>
      <Text size="sm" fw={600}>
        {label}
      </Text>
      <Group gap="xs" wrap="nowrap" align="flex-start">
        <Code block data-testid={testId} style={{ flex: 1, wordBreak: 'break-all', whiteSpace: 'pre-wrap' }}>
          {value}
        </Code>
        <CopyButton value={value}>
          {({ copied, copy }) => (
            <Tooltip label={copied ? 'Copied' : `Copy the ${label.toLowerCase()}`} withArrow>
              <Button
                size="xs"
                variant={copied ? 'filled' : 'light'}
                color={copied ? 'teal' : undefined}
                onClick={copy}
              >
                {copied ? 'Copied' : 'Copy'}
              </Button>
            </Tooltip>
          )}
        </CopyButton>
      </Group>
    </Stack>
  );
}

function Issued({ issued, rotated }: { issued: IssuedKey; rotated: boolean }) {
  const methods = issued.key.methods ?? KEY_METHODS;
  const origin = window.location.origin;
  return (
    <Stack>
      <Alert color="yellow" title="Copy the secret now" role="alert">
        You will not see this again: Keyward keeps only a hash of it. If you lose it, rotate the key.
        {rotated && issued.graceSeconds !== undefined && issued.graceSeconds > 0
          ? ` The old secret keeps working for ${Math.round(issued.graceSeconds / 60)} more minutes.`
          : null}
      </Alert>
      <Copyable label="Key id" value={issued.id} testId="issued-key-id" />
      <Copyable label="Secret" value={issued.secret} testId="issued-secret" />
      <Copyable label="Bearer token" value={issued.token} testId="issued-token" />
      <Text size="sm" fw={600} mt="sm">
        Try it
      </Text>
      <Tabs defaultValue={methods[0]} keepMounted={false}>
        <Tabs.List>
          {methods.map((m) => (
            <Tabs.Tab key={m} value={m}>
              {m}
            </Tabs.Tab>
          ))}
        </Tabs.List>
        {methods.map((m) => (
          <Tabs.Panel key={m} value={m} pt="sm">
            <Stack gap="sm">
              {snippetsFor(m, issued, origin).map((s) => (
                <Copyable key={s.label} label={s.label} value={s.code} testId={`snippet-${m}-${s.language}`} />
              ))}
            </Stack>
          </Tabs.Panel>
        ))}
      </Tabs>
    </Stack>
  );
}

/** Opens the dialog that shows a new secret once. */
export function showIssued(issued: IssuedKey, rotated = false): void {
  modals.open({
    title: rotated ? `New secret for ${issued.key.name}` : `Key ${issued.key.name} created`,
    size: 'xl',
    closeOnClickOutside: false,
    children: (
      <Stack>
        <Issued issued={issued} rotated={rotated} />
        <Group justify="flex-end">
          <Button onClick={() => modals.closeAll()}>I have copied the secret</Button>
        </Group>
      </Stack>
    ),
  });
}
