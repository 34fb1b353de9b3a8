// A new job: the form is generated from the operation's params schema (GET /v1/providers);
// inputs come from the gallery or are dropped in; the quote is shown before submitting.
import { api, upload } from '../api.js';
import { clear, field, h, plain, select, toast, words } from '../dom.js';
import { thumb } from '../media.js';
import { providers } from '../providers.js';
import { params as hashParams } from '../main.js';

function unwrap(schema) {
  // `X | None` comes as anyOf [X, null]: show X, optional.
  if (schema.anyOf) {
    const real = schema.anyOf.filter((s) => s.type !== 'null');
    if (real.length === 1) return { ...real[0], default: schema.default, description: schema.description };
  }
  return schema;
}

function control(name, schema, required) {
  const s = unwrap(schema);
  const common = { name, 'data-param': name, required: required || null };
  if (s.enum) {
    const options = (required ? [] : [['', `default (${s.default ?? 'provider decides'})`]])
      .concat(s.enum.map((v, i) => [String(i), String(v)]));
    const el = select(name, options, required && s.default !== undefined ? String(s.enum.indexOf(s.default)) : '');
    el.dataset.param = name;
    el.read = () => (el.value === '' ? undefined : s.enum[Number(el.value)]);
    return el;
  }
  if (s.type === 'boolean') {
    const el = h('input', { ...common, type: 'checkbox', checked: Boolean(s.default) });
    el.read = () => el.checked;
    return el;
  }
  if (s.type === 'integer' || s.type === 'number') {
    const el = h('input', { ...common, type: 'number', inputmode: 'numeric', step: s.type === 'integer' ? 1 : 'any',
      min: s.minimum ?? null, max: s.maximum ?? null, placeholder: s.default ?? '' });
    el.read = () => (el.value === '' ? undefined : Number(el.value));
    return el;
  }
  const long = name.includes('prompt');
  const el = h(long ? 'textarea' : 'input', { ...common, rows: long ? 3 : null, maxlength: s.maxLength ?? null,
    placeholder: s.default ?? '' });
  el.read = () => (el.value === '' ? undefined : el.value);
  return el;
}

export async function render(root) {
  const known = await providers();
  const wanted = hashParams().get('input');
  const provider = select('provider_id', known.map((p) => [p.id, p.name]), known.some((p) => p.id === 'sim') ? 'sim' : '');
  const operation = h('select', { name: 'operation_type' });
  const name = h('input', { name: 'name', maxlength: 200, placeholder: 'optional' });
  const workspace = h('input', { name: 'workspace_id', maxlength: 128, placeholder: 'optional' });
  const priority = h('input', { name: 'priority', type: 'number', min: 0, max: 10, value: 5 });
  const paramsBox = h('div', { class: 'params' });
  const inputsBox = h('fieldset', { class: 'inputs' });
  const quote = h('p', { class: 'quote', id: 'quote', 'aria-live': 'polite' });
  const error = h('p', { class: 'error', role: 'alert' });
  const submit = h('button', { type: 'submit' }, 'Submit job');
  const form = h('form', { class: 'card newjob', 'aria-labelledby': 'newjob-title' },
    h('div', { class: 'row' }, field('Provider', provider), field('Operation', operation)),
    paramsBox, inputsBox,
    h('div', { class: 'row' }, field('Name', name), field('Workspace', workspace), field('Priority (0 = first)', priority)),
    quote, error, submit);
  root.append(h('h1', { id: 'newjob-title' }, 'New job'), form);

  let chosen = wanted ? [wanted] : [];
  let gallery = [];
  let spec = null;

  function operations() {
    const p = known.find((x) => x.id === provider.value);
    const ops = p ? p.operations : [];
    const keep = operation.value;
    const preferred = wanted ? ops.find((o) => o.min_inputs > 0) : null;
    clear(operation, ops.map((o) => h('option', { value: o.operation_type }, words(o.operation_type))));
    if (ops.some((o) => o.operation_type === keep)) operation.value = keep;
    else if (preferred) operation.value = preferred.operation_type;
    build();
  }

  function build() {
    const p = known.find((x) => x.id === provider.value);
    spec = p && p.operations.find((o) => o.operation_type === operation.value);
    clear(paramsBox);
    if (!spec) return;
    const schema = spec.params_schema;
    const required = new Set(schema.required || []);
    const names = Object.keys(schema.properties || {});
    const basic = names.filter((n) => !n.startsWith('sim_'));
    const advanced = names.filter((n) => n.startsWith('sim_'));
    const make = (n) => field(n === 'prompt' ? 'Prompt' : words(n), control(n, schema.properties[n], required.has(n)),
      schema.properties[n].description);
    paramsBox.append(h('div', { class: 'row wrap' }, basic.map(make)));
    if (advanced.length) {
      paramsBox.append(h('details', { class: 'advanced' }, h('summary', {}, 'Simulator controls'),
        h('div', { class: 'row wrap' }, advanced.map(make))));
    }
    drawInputs();
    priceIt();
  }

  function drawInputs() {
    clear(inputsBox);
    if (!spec || spec.max_inputs === 0) { inputsBox.hidden = true; return; }
    inputsBox.hidden = false;
    chosen = chosen.slice(0, spec.max_inputs);
    const need = spec.min_inputs === spec.max_inputs ? `${spec.max_inputs}` : `${spec.min_inputs}–${spec.max_inputs}`;
    const drop = h('label', { class: 'drop', tabindex: 0 }, 'Drop a file here, or choose one',
      h('input', { type: 'file', class: 'sr-only', accept: 'image/*,video/*,audio/*', onchange: (e) => add(e.target.files) }));
    dropTarget(drop, add);
    inputsBox.append(h('legend', {}, `Inputs (${need}; ${chosen.length} chosen)`), drop,
      h('div', { class: 'grid pick' }, gallery.map((a) => {
        const on = chosen.includes(a.id);
        const box = thumb(a, { href: null, role: 'checkbox', tabindex: 0, 'aria-checked': String(on), class: `thumb${on ? ' on' : ''}` });
        const toggle = (e) => {
          e.preventDefault();
          chosen = on ? chosen.filter((x) => x !== a.id) : [...chosen, a.id].slice(-spec.max_inputs);
          drawInputs();
        };
        box.addEventListener('click', toggle);
        box.addEventListener('keydown', (e) => { if (e.key === ' ' || e.key === 'Enter') toggle(e); });
        return box;
      })));
  }

  async function add(files) {
    for (const file of files) {
      try {
        const asset = await upload(file);
        gallery = [asset, ...gallery.filter((a) => a.id !== asset.id)];
        chosen = [...chosen.filter((x) => x !== asset.id), asset.id].slice(-(spec ? spec.max_inputs : 1));
        toast(`Uploaded ${file.name}`);
      } catch (e) { toast(plain(e.code, e.message), 'error'); }
    }
    drawInputs();
  }

  function values() {
    const out = {};
    for (const el of paramsBox.querySelectorAll('[data-param]')) {
      const v = el.read();
      if (v !== undefined) out[el.dataset.param] = v;
    }
    return out;
  }

  let timer = null;
  function priceIt() {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      try {
        const q = await api('/v1/jobs/quote', { method: 'POST',
          json: { provider_id: provider.value, operation_type: operation.value, params: values() } });
        const me = await api('/v1/users/me');
        quote.textContent = `This job costs ${q.credits} credit${q.credits === 1 ? '' : 's'} · you have ${me.credits}.`;
        quote.className = q.credits > me.credits ? 'quote error' : 'quote';
      } catch (e) {
        quote.textContent = e.code === 'VALIDATION_ERROR' ? 'Fill in the required fields to see the price.'
          : `No price yet: ${plain(e.code, e.message)}`; quote.className = 'quote muted'; }
    }, 250);
  }

  provider.addEventListener('change', operations);
  operation.addEventListener('change', build);
  paramsBox.addEventListener('input', priceIt);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.textContent = '';
    submit.disabled = true;
    const body = { provider_id: provider.value, operation_type: operation.value, params: values(),
      input_asset_ids: chosen, priority: Number(priority.value || 5) };
    if (name.value.trim()) body.name = name.value.trim();
    if (workspace.value.trim()) body.workspace_id = workspace.value.trim();
    try {
      const job = await api('/v1/jobs', { method: 'POST', json: body });
      location.hash = `#/jobs/${job.id}`;
    } catch (e) {
      const extra = e.problem && e.problem.errors ? ` ${JSON.stringify(e.problem.errors)}` : '';
      error.textContent = plain(e.code, e.message) + extra;
    } finally { submit.disabled = false; }
  });

  gallery = (await api('/v1/assets?limit=100').catch(() => ({ items: [] }))).items;
  operations();
}

export function dropTarget(el, onFiles) {
  el.addEventListener('dragover', (e) => { e.preventDefault(); el.classList.add('over'); });
  el.addEventListener('dragleave', () => el.classList.remove('over'));
  el.addEventListener('drop', (e) => {
    e.preventDefault();
    el.classList.remove('over');
    if (e.dataTransfer && e.dataTransfer.files.length) onFiles(e.dataTransfer.files);
  });
  el.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); el.querySelector('input[type=file]')?.click(); }
  });
}
