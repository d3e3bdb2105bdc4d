/**
 * A call's outcome, or `'hung'` if it has not settled within `limitMs`. For tests of attacks
 * that used to hang: the limit is generous, and the test asserts the outcome, never a speed.
 */
export async function settle(call: () => Promise<unknown>, limitMs = 15_000): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      call().then((value) => ({ resolved: value }), (error: unknown) => error),
      new Promise((resolve) => (timer = setTimeout(() => resolve('hung'), limitMs))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
