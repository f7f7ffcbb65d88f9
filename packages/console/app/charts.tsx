// Requests per hour by method and outcome, and refusals by code: Mantine charts (Recharts).
import { BarChart } from '@mantine/charts';
import { Badge, Code, Group, Paper, SegmentedControl, Stack, Table, Text, Title } from '@mantine/core';
import type { RefusalRow, Usage } from './api.ts';
import { Empty, when } from './ui.tsx';

export type Window = '24h' | '7d';

const ACCEPTED = ['teal.6', 'blue.6', 'indigo.6', 'cyan.6', 'green.7', 'violet.6'];
const REFUSED = ['red.6', 'orange.6', 'pink.6', 'grape.6', 'yellow.7', 'red.9'];

const hourLabel = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const dayLabel = new Intl.DateTimeFormat(undefined, { weekday: 'short', hour: '2-digit' });

/** One row per hour of the window, one column per (method, outcome) seen. */
export function perHour(usage: Usage, window: Window) {
  const HOUR = 3_600_000;
  const series = new Map<string, { name: string; color: string; label: string }>();
  const rows = new Map<number, Record<string, number | string>>();
  const from = Math.floor(usage.from / HOUR) * HOUR;
  for (let h = from; h < usage.to; h += HOUR) {
    rows.set(h, { hour: (window === '24h' ? hourLabel : dayLabel).format(new Date(h)) });
  }
  let accepted = 0;
  let refused = 0;
  for (const r of [...usage.hours].sort((a, b) => (a.method + a.outcome).localeCompare(b.method + b.outcome))) {
    const name = `${r.method} ${r.outcome}`;
    if (!series.has(name)) {
      const palette = r.outcome === 'accepted' ? ACCEPTED : REFUSED;
      const index = r.outcome === 'accepted' ? accepted++ : refused++;
      series.set(name, {
        name,
        color: palette[index % palette.length] ?? 'gray.6',
        label: `${r.method}, ${r.outcome}`,
      });
    }
    const hour = Math.floor(r.hour / HOUR) * HOUR;
    const row = rows.get(hour) ?? { hour: hourLabel.format(new Date(hour)) };
    row[name] = ((row[name] as number | undefined) ?? 0) + r.count;
    rows.set(hour, row);
  }
  return { data: [...rows.entries()].sort(([a], [b]) => a - b).map(([, row]) => row), series: [...series.values()] };
}

export function WindowPicker({ value, onChange }: { value: Window; onChange: (w: Window) => void }) {
  return (
    <SegmentedControl
      aria-label="Time window"
      value={value}
      onChange={(v) => onChange(v as Window)}
      data={[
        { value: '24h', label: 'Last 24 hours' },
        { value: '7d', label: 'Last 7 days' },
      ]}
    />
  );
}

export function UsageChart({ usage, window, title }: { usage: Usage; window: Window; title: string }) {
  const { data, series } = perHour(usage, window);
  const total = usage.hours.reduce((n, r) => n + r.count, 0);
  const refused = usage.hours.filter((r) => r.outcome === 'refused').reduce((n, r) => n + r.count, 0);
  return (
    <Paper withBorder p="md" radius="md" data-testid="usage-chart">
      <Group justify="space-between" mb="sm">
        <Title order={2} size="h4">
          {title}
        </Title>
        <Group gap="xs">
          <Badge variant="light" color="teal">
            {total - refused} accepted
          </Badge>
          <Badge variant="light" color="red">
            {refused} refused
          </Badge>
        </Group>
      </Group>
      {total === 0 ? (
        <Text c="dimmed" size="sm">
          No requests in this window. Calls made with the key appear here within a few seconds (counts are written in
          batches).
        </Text>
      ) : (
        <figure style={{ margin: 0 }} aria-label={`${title}: ${total} requests, ${refused} refused`}>
          <BarChart
            h={260}
            data={data}
            dataKey="hour"
            type="stacked"
            series={series}
            withLegend
            legendProps={{ verticalAlign: 'bottom' }}
            tickLine="y"
            xAxisProps={{ minTickGap: 16 }}
          />
        </figure>
      )}
    </Paper>
  );
}

/** Refusals summed by code, as a chart. */
export function RefusalCodesChart({ refusals }: { refusals: RefusalRow[] }) {
  const byCode = new Map<string, number>();
  for (const r of refusals) byCode.set(r.code, (byCode.get(r.code) ?? 0) + r.count);
  const data = [...byCode.entries()].sort((a, b) => b[1] - a[1]).map(([code, count]) => ({ code, count }));
  return (
    <Paper withBorder p="md" radius="md" data-testid="refusal-codes-chart">
      <Title order={2} size="h4" mb="sm">
        Refusals by code
      </Title>
      {data.length === 0 ? (
        <Text c="dimmed" size="sm">
          No refusals recorded.
        </Text>
      ) : (
        <figure
          style={{ margin: 0 }}
          aria-label={`Refusals by code: ${data.map((d) => `${d.code} ${d.count}`).join(', ')}`}
        >
          <BarChart
            h={220}
            data={data}
            dataKey="code"
            series={[{ name: 'count', color: 'red.6', label: 'refusals' }]}
          />
        </figure>
      )}
    </Paper>
  );
}

/** The recent refusals, newest first: code, time, method, addresses. */
export function RefusalsTable({ refusals, withKey = false }: { refusals: RefusalRow[]; withKey?: boolean }) {
  if (refusals.length === 0) {
    return (
      <Empty title="No refusals">
        Every call made with {withKey ? 'these keys' : 'this key'} was accepted. When one is refused, its code, time and
        address appear here, so you can see why.
      </Empty>
    );
  }
  return (
    <Table.ScrollContainer minWidth={640}>
      <Table striped data-testid="refusals-table">
        <Table.Caption>Refused calls, newest first, grouped by hour, method and code</Table.Caption>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Code</Table.Th>
            {withKey ? <Table.Th>Key</Table.Th> : null}
            <Table.Th>Method</Table.Th>
            <Table.Th>Count</Table.Th>
            <Table.Th>Last seen</Table.Th>
            <Table.Th>First seen</Table.Th>
            <Table.Th>Addresses</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {[...refusals]
            .sort((a, b) => b.lastSeen - a.lastSeen)
            .map((r) => (
              <Table.Tr key={`${r.keyId ?? ''}-${r.hour}-${r.method}-${r.code}`}>
                <Table.Td>
                  <Code fw={700}>{r.code}</Code>
                </Table.Td>
                {withKey ? (
                  <Table.Td>
                    <Text size="xs" ff="monospace">
                      {r.keyId}
                    </Text>
                  </Table.Td>
                ) : null}
                <Table.Td>{r.method}</Table.Td>
                <Table.Td>{r.count}</Table.Td>
                <Table.Td>{when(r.lastSeen)}</Table.Td>
                <Table.Td>{when(r.firstSeen)}</Table.Td>
                <Table.Td>
                  <Stack gap={0}>
                    {r.addresses.map((a) => (
                      <Text key={a} size="xs" ff="monospace">
                        {a}
                      </Text>
                    ))}
                  </Stack>
                </Table.Td>
              </Table.Tr>
            ))}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}
