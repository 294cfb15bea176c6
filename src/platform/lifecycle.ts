const scope = globalThis as Record<string, any>;

/**
 * Calls `listener('hide')` when the page is being unloaded or frozen into the back/forward cache and
 * `listener('show')` when it comes back from that cache; a no-op outside a window. Returns the unsubscribe.
 * `pagehide` rather than `unload`, because an unload listener keeps a page out of the back/forward cache.
 */
export function onPageLifecycle(listener: (phase: 'hide' | 'show') => void): () => void {
  if (typeof scope.addEventListener !== 'function' || typeof scope.document !== 'object') return () => {};
  const hide = () => listener('hide');
  const show = (event: Event & { persisted?: boolean }) => event.persisted && listener('show');
  scope.addEventListener('pagehide', hide);
  scope.addEventListener('pageshow', show);
  return () => {
    scope.removeEventListener('pagehide', hide);
    scope.removeEventListener('pageshow', show);
  };
}
