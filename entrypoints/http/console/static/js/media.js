// An asset as the browser can show it: images (GIFs animate), videos playable, audio playable.
import { content } from './api.js';
import { h } from './dom.js';

export function preview(asset, { large = false } = {}) {
  const src = content(asset.id);
  const label = asset.original_filename || `${asset.media_type} ${asset.id.slice(-8)}`;
  if (asset.mime_type.startsWith('video/')) {
    return h('video', { src, controls: true, muted: true, loop: true, playsinline: true,
      preload: large ? 'auto' : 'metadata', 'aria-label': label });
  }
  if (asset.mime_type.startsWith('audio/')) return h('audio', { src, controls: true, 'aria-label': label });
  return h('img', { src, alt: label, loading: 'lazy', decoding: 'async' });
}

export function caption(asset) {
  const kind = asset.mime_type === 'image/gif' && asset.media_type === 'video' ? 'video (GIF)' : asset.media_type;
  return asset.original_filename || `${asset.source} ${kind}`;
}

export function thumb(asset, extra = {}) {
  return h('a', { class: 'thumb', href: `#/assets/${asset.id}`, 'data-asset': asset.id, ...extra },
    preview(asset), h('span', { class: 'cap' }, caption(asset),
      h('small', {}, ` · ${new Date(asset.created_at).toLocaleDateString()}`)));
}
