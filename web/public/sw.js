// Offline once loaded: the page hands over the same-origin files it loaded (the service worker
// starts after them, so it cannot see those requests itself) and every later same-origin GET is
// kept too. Network first, so a rebuilt app is picked up while online; the cache when offline.
const CACHE = 'volfit-web-v1';
self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (e) => e.waitUntil(self.clients.claim()));
self.addEventListener('message', (e) => {
  if (e.data?.type === 'cache') e.waitUntil(caches.open(CACHE).then((c) => c.addAll(e.data.urls)));
});
self.addEventListener('fetch', (e) => {
  const url = new URL(e.request.url);
  if (e.request.method !== 'GET' || url.origin !== self.location.origin) return;
  e.respondWith(
    fetch(e.request)
      .then((res) => {
        if (res.ok) {
          const copy = res.clone();
          caches.open(CACHE).then((c) => c.put(e.request, copy));
        }
        return res;
      })
      // The page's query (?models=...) does not change its files.
      .catch(() => caches.match(e.request, { ignoreSearch: e.request.mode === 'navigate' }).then((hit) => hit ?? Response.error())),
  );
});
