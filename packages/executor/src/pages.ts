// Pages of the Store's records as pages of the admin messages the engine hands out, keeping the page's token and
// the records it could not read.
import type { Page } from '@flyte-ts/core';

/** The page with each item mapped; `nextToken` and `unreadable` are kept. */
export function mapPage<T, U>(page: Page<T>, fn: (item: T) => U): Page<U> {
  return {
    items: page.items.map(fn),
    ...(page.nextToken === undefined ? {} : { nextToken: page.nextToken }),
    ...(page.unreadable === undefined || page.unreadable.length === 0 ? {} : { unreadable: page.unreadable }),
  };
}
