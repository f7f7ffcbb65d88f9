// The form that creates or edits a key: name, scopes, allowed methods, expiry, rate limit.
import { Button, Checkbox, Group, NumberInput, Select, Stack, TagsInput, TextInput } from '@mantine/core';
import { type FormEvent, useState } from 'react';
import { KEY_METHODS, type Key, type KeyMethod } from './api.ts';

const EXPIRY = [
  { value: 'keep', label: 'Keep the current expiry' },
  { value: 'never', label: 'Never' },
  { value: '7', label: 'In 7 days' },
  { value: '30', label: 'In 30 days' },
  { value: '90', label: 'In 90 days' },
  { value: '365', label: 'In a year' },
];

/** The body of POST /v1/keys or PATCH /v1/keys/{id}. */
export interface KeyInput {
  name: string;
  scopes: string[];
  methods?: KeyMethod[] | null;
  expiresIn?: number;
  expiresAt?: null;
  rateLimit?: { limit: number; windowSeconds: number } | null;
}

export function KeyForm({
  existing,
  onSubmit,
  submitLabel,
}: {
  existing?: Key;
  onSubmit: (input: KeyInput) => Promise<void>;
  submitLabel: string;
}) {
  const [name, setName] = useState(existing?.name ?? '');
  const [scopes, setScopes] = useState<string[]>(existing?.scopes ?? []);
  const [methods, setMethods] = useState<string[]>(existing?.methods ?? [...KEY_METHODS]);
  const [expiry, setExpiry] = useState<string>(existing === undefined ? 'never' : 'keep');
  const [limit, setLimit] = useState<number | string>(existing?.rateLimit?.limit ?? '');
  const [windowSeconds, setWindowSeconds] = useState<number | string>(existing?.rateLimit?.windowSeconds ?? 60);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const input: KeyInput = {
      name: name.trim(),
      scopes,
      // Every method checked means no restriction (a key made later for a new method works too).
      methods: methods.length === KEY_METHODS.length ? null : (methods as KeyMethod[]),
      rateLimit: typeof limit === 'number' ? { limit, windowSeconds: Number(windowSeconds) || 60 } : null,
    };
    if (expiry === 'never') input.expiresAt = null;
    else if (expiry !== 'keep') input.expiresIn = Number(expiry) * 24 * 60 * 60;
    if (existing === undefined) {
      // Creation: no nulls, only what is set.
      if (input.methods === null) delete input.methods;
      if (input.rateLimit === null) delete input.rateLimit;
      delete input.expiresAt;
    }
    setBusy(true);
    try {
      await onSubmit(input);
    } finally {
      setBusy(false);
    }
  }

  return (
    <form onSubmit={submit}>
      <Stack>
        <TextInput
          label="Name"
          description="What the key is for, e.g. the service that calls with it"
          required
          maxLength={200}
          value={name}
          onChange={(e) => setName(e.currentTarget.value)}
          data-autofocus
        />
        <TagsInput
          label="Scopes"
          description="Press Enter after each scope; none means the key has no scopes"
          value={scopes}
          onChange={setScopes}
          clearable
        />
        <Checkbox.Group label="Allowed methods" value={methods} onChange={setMethods} required>
          <Group mt="xs">
            {KEY_METHODS.map((m) => (
              <Checkbox key={m} value={m} label={m} />
            ))}
          </Group>
        </Checkbox.Group>
        <Select
          label="Expiry"
          data={existing === undefined ? EXPIRY.slice(1) : EXPIRY}
          value={expiry}
          onChange={(v) => setExpiry(v ?? 'never')}
          allowDeselect={false}
        />
        <Group grow align="flex-start">
          <NumberInput
            label="Rate limit (requests)"
            description="Empty: no limit of its own"
            min={1}
            allowDecimal={false}
            value={limit}
            onChange={setLimit}
          />
          <NumberInput
            label="per (seconds)"
            min={1}
            allowDecimal={false}
            value={windowSeconds}
            onChange={setWindowSeconds}
            disabled={typeof limit !== 'number'}
          />
        </Group>
        <Group justify="flex-end">
          <Button type="submit" loading={busy} disabled={name.trim() === '' || methods.length === 0}>
            {submitLabel}
          </Button>
        </Group>
      </Stack>
    </form>
  );
}
