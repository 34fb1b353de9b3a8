import { ApiError, CSRF } from '../api.js';
import { field, h, plain } from '../dom.js';

export function render(root, _args, _ctx, signedIn) {
  const email = h('input', { type: 'email', name: 'email', autocomplete: 'username', required: true });
  const password = h('input', { type: 'password', name: 'password', autocomplete: 'current-password', required: true });
  const error = h('p', { class: 'error', role: 'alert' });
  const button = h('button', { type: 'submit' }, 'Sign in');
  const form = h('form', { class: 'card signin', 'aria-labelledby': 'signin-title' },
    h('h1', { id: 'signin-title' }, h('img', { src: '/console/static/icon.svg', alt: '', width: 32, height: 32 }),
      ' pixrelay'),
    h('p', { class: 'muted' }, 'Sign in to follow your jobs, browse your media and see your credits.'),
    field('Email', email), field('Password', password), error, button);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.textContent = '';
    button.disabled = true;
    try {
      const response = await fetch('/console/session', {
        method: 'POST', headers: { ...CSRF, 'Content-Type': 'application/json' },
        body: JSON.stringify({ email: email.value, password: password.value }),
      });
      if (!response.ok) {
        const problem = await response.json().catch(() => ({}));
        throw new ApiError(response.status, problem);
      }
      password.value = '';
      await signedIn();
    } catch (e) {
      error.textContent = e.status === 401 ? 'Wrong email or password.' : plain(e.code, e.message);
    } finally {
      button.disabled = false;
    }
  });
  root.append(h('div', { class: 'center' }, form));
  email.focus();
}
