import { useQueryClient } from '@tanstack/react-query';
import { createContext, type ReactNode, useCallback, useContext, useEffect, useMemo, useState } from 'react';
import { type Account, ApiError, api, type ConsoleSession, setCsrfToken, whenSignedOut } from './api.ts';

interface Auth {
  /** undefined while the console asks the server whether a session is there. */
  readonly account: Account | null | undefined;
  signIn(email: string, password: string): Promise<void>;
  signOut(): Promise<void>;
  /** Forget the session locally (the server already ended it). */
  signedOut(): void;
}

const AuthContext = createContext<Auth | undefined>(undefined);

/** The signed-in account, the sign-in and the sign-out. */
export function useAuth(): Auth {
  const auth = useContext(AuthContext);
  if (auth === undefined) throw new Error('useAuth outside AuthProvider');
  return auth;
}

export function AuthProvider({ children }: { children: ReactNode }) {
  const [account, setAccount] = useState<Account | null | undefined>(undefined);
  const queries = useQueryClient();

  const adopt = useCallback(
    (session: ConsoleSession | null) => {
      setCsrfToken(session?.csrfToken);
      setAccount(session?.account ?? null);
      if (session === null) queries.clear();
    },
    [queries],
  );

  useEffect(() => {
    whenSignedOut(() => adopt(null));
    // A reload: the cookies are still there, the CSRF token is made again from them.
    api<ConsoleSession>('GET', '/v1/console/session').then(adopt, (error: unknown) => {
      if (!(error instanceof ApiError) || error.status !== 401) console.warn('session check failed', error);
      adopt(null);
    });
  }, [adopt]);

  const value = useMemo<Auth>(
    () => ({
      account,
      async signIn(email, password) {
        adopt(await api<ConsoleSession>('POST', '/v1/console/session', { email, password }));
      },
      async signOut() {
        try {
          await api('DELETE', '/v1/console/session');
        } finally {
          adopt(null);
        }
      },
      signedOut: () => adopt(null),
    }),
    [account, adopt],
  );
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}
