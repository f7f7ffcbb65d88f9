import { Group, SimpleGrid, Stack, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { api, type RefusalRow, type Usage } from '../api.ts';
import { RefusalCodesChart, RefusalsTable, UsageChart, type Window, WindowPicker } from '../charts.tsx';
import { ErrorState, Loading, PageTitle } from '../ui.tsx';

export function OverviewPage() {
  const [window, setWindow] = useState<Window>('24h');
  const usage = useQuery({
    queryKey: ['admin-usage', window],
    queryFn: () => api<Usage>('GET', `/v1/admin/usage?window=${window}`),
  });
  const refusals = useQuery({
    queryKey: ['admin-refusals'],
    queryFn: () => api<{ refusals: RefusalRow[] }>('GET', '/v1/admin/refusals?limit=100'),
  });
  return (
    <Stack>
      <PageTitle actions={<WindowPicker value={window} onChange={setWindow} />}>Usage and refusals</PageTitle>
      {usage.isPending ? (
        <Loading what="usage" />
      ) : usage.isError ? (
        <ErrorState error={usage.error} retry={() => void usage.refetch()} what="usage" />
      ) : (
        <UsageChart usage={usage.data} window={window} title="All requests per hour, by method and outcome" />
      )}
      <Group>
        <Title order={2} size="h3">
          Recent refusals
        </Title>
      </Group>
      {refusals.isPending ? (
        <Loading what="refusals" />
      ) : refusals.isError ? (
        <ErrorState error={refusals.error} retry={() => void refusals.refetch()} what="refusals" />
      ) : (
        <SimpleGrid cols={1}>
          <RefusalCodesChart refusals={refusals.data.refusals} />
          <RefusalsTable refusals={refusals.data.refusals} withKey />
        </SimpleGrid>
      )}
    </Stack>
  );
}
