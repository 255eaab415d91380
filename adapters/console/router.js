// Hash routes, so the console is one static page and every view has a link a reviewer can
// share:
//   #/deployments?app=&environment=&status=&since=&until=&actor=
//   #/deployment/<id>            #/deployment/<id>/at/<seq>
//   #/audit/waivers  #/audit/denials  #/audit/images?image=  #/audit/keys
//   #/dora?app=&environment=&since=&until=&window=
//   #/connect

import {queryString} from './api.js';

// {name, id, seq, params} for a hash; unknown hashes fall back to the deployments list.
export function parseRoute(hash) {
  const text = (hash || '').replace(/^#/, '');
  const question = text.indexOf('?');
  const path = question < 0 ? text : text.slice(0, question);
  const params = new URLSearchParams(question < 0 ? '' : text.slice(question + 1));
  const parts = path.split('/').filter(Boolean).map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return p;
    }
  });
  if (parts[0] === 'deployment' && parts[1] !== undefined) {
    const seq = parts[2] === 'at' && /^\d+$/.test(parts[3] || '') ? Number(parts[3]) : null;
    return {name: 'deployment', id: parts[1], seq, params};
  }
  if (parts[0] === 'audit' && ['waivers', 'denials', 'images', 'keys'].includes(parts[1])) {
    return {name: `audit-${parts[1]}`, params};
  }
  if (parts[0] === 'dora') return {name: 'dora', params};
  if (parts[0] === 'connect') return {name: 'connect', params};
  return {name: 'deployments', params};
}

// The hash for a route: href('deployments', {app: 'web'}), href('deployment', {}, id, seq).
export function deploymentsHref(params) {
  return `#/deployments${queryString(params)}`;
}

export function deploymentHref(id, seq) {
  const base = `#/deployment/${encodeURIComponent(id)}`;
  return seq === undefined || seq === null ? base : `${base}/at/${seq}`;
}

export function hrefWithParams(base, params) {
  return `${base}${queryString(params)}`;
}
