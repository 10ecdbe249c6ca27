/** Tags a text panel may keep; everything else is dropped, its text kept. */
const ALLOWED_TAGS = new Set(['a', 'b', 'i', 'em', 'strong', 'p', 'br', 'hr', 'ul', 'ol', 'li', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'code', 'pre', 'blockquote', 'span', 'div', 'table', 'thead', 'tbody', 'tr', 'th', 'td', 'small', 'sub', 'sup', 'img']);
const ALLOWED_ATTRS = new Set(['href', 'title', 'src', 'alt', 'colspan', 'rowspan']);
/** Tags whose content is dropped too (it is code or styling, not text). */
const DROPPED = new Set(['script', 'style', 'iframe', 'object', 'embed', 'template', 'noscript']);

/**
 * HTML of a text panel with only harmless tags and attributes: no scripts, event handlers, styles or
 * `javascript:` links (Grafana sanitises the same way); links open in a new tab.
 */
export function sanitizeHtml(html: string): string {
  const doc = new DOMParser().parseFromString(`<body>${html}</body>`, 'text/html');
  const clean = (node: Node, out: Node): void => {
    for (const child of [...node.childNodes]) {
      if (child.nodeType === Node.TEXT_NODE) {
        out.appendChild(document.createTextNode(child.textContent ?? ''));
        continue;
      }
      if (child.nodeType !== Node.ELEMENT_NODE) continue;
      const el = child as Element;
      const tag = el.tagName.toLowerCase();
      if (DROPPED.has(tag)) continue;
      if (!ALLOWED_TAGS.has(tag)) {
        clean(el, out);
        continue;
      }
      const copy = document.createElement(tag);
      for (const attr of [...el.attributes]) {
        if (!ALLOWED_ATTRS.has(attr.name)) continue;
        if ((attr.name === 'href' || attr.name === 'src') && !/^(https?:|\/|#|mailto:)/i.test(attr.value.trim())) continue;
        copy.setAttribute(attr.name, attr.value);
      }
      if (tag === 'a') {
        copy.setAttribute('target', '_blank');
        copy.setAttribute('rel', 'noopener noreferrer');
      }
      clean(el, copy);
      out.appendChild(copy);
    }
  };
  const container = document.createElement('div');
  clean(doc.body, container);
  return container.innerHTML;
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Inline markdown of already escaped text: code, bold, italics, links. */
function inline(s: string): string {
  return s
    .replace(/`([^`]+)`/g, '<code>$1</code>')
    .replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>')
    .replace(/__([^_]+)__/g, '<strong>$1</strong>')
    .replace(/(^|[^*])\*([^*]+)\*/g, '$1<em>$2</em>')
    .replace(/\[([^\]]+)\]\(([^)\s]+)\)/g, '<a href="$2">$1</a>');
}

/**
 * The common markdown of dashboard text panels (headings, paragraphs, lists, code blocks, bold, italics,
 * links), rendered from escaped text and then sanitised, so raw HTML in markdown shows as text.
 */
export function renderMarkdown(md: string): string {
  const out: string[] = [];
  const lines = md.replace(/\r\n/g, '\n').split('\n');
  let list: 'ul' | 'ol' | undefined;
  let para: string[] = [];
  const flush = (): void => {
    if (para.length) out.push(`<p>${inline(para.join(' '))}</p>`);
    para = [];
    if (list) out.push(`</${list}>`);
    list = undefined;
  };
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    if (raw.startsWith('```')) {
      flush();
      const code: string[] = [];
      while (++i < lines.length && !lines[i]!.startsWith('```')) code.push(lines[i]!);
      out.push(`<pre><code>${escapeHtml(code.join('\n'))}</code></pre>`);
      continue;
    }
    const line = escapeHtml(raw);
    let m: RegExpExecArray | null;
    if ((m = /^(#{1,6})\s+(.*)$/.exec(line))) {
      flush();
      out.push(`<h${m[1]!.length}>${inline(m[2]!)}</h${m[1]!.length}>`);
    } else if ((m = /^\s*[-*+]\s+(.*)$/.exec(line)) || (m = /^\s*\d+[.)]\s+(.*)$/.exec(line))) {
      const kind = /^\s*\d/.test(line) ? 'ol' : 'ul';
      if (para.length) {
        out.push(`<p>${inline(para.join(' '))}</p>`);
        para = [];
      }
      if (list !== kind) {
        if (list) out.push(`</${list}>`);
        out.push(`<${kind}>`);
        list = kind;
      }
      out.push(`<li>${inline(m[1]!)}</li>`);
    } else if (line.trim() === '') {
      flush();
    } else if (/^(-{3,}|\*{3,})$/.test(line.trim())) {
      flush();
      out.push('<hr>');
    } else {
      if (list) {
        out.push(`</${list}>`);
        list = undefined;
      }
      para.push(line);
    }
  }
  flush();
  return sanitizeHtml(out.join('\n'));
}
