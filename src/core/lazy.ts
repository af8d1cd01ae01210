/**
 * Memoises an async factory: the first call creates, later calls share it.
 * The app factory uses it so a service (and its imports) is built only when
 * a command first asks for it — the reason `--help` stays fast.
 */
export function lazy<T>(factory: () => Promise<T>): () => Promise<T> {
  let promise: Promise<T> | undefined;
  return () => {
    promise ??= factory().catch((error: unknown) => {
      promise = undefined; // a failed start (e.g. a locked keychain) may succeed when asked again
      throw error;
    });
    return promise;
  };
}
