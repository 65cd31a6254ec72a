// Feihong admin dashboard: sign in, pick an area (the admin's own, or any district or town below
// it) and a date range, read participation statistics as charts and tables, list the area's
// teams (sortable, each with its roster export), export CSV. Plain JavaScript, no libraries.
//
// Safety: every value from the server reaches the page through textContent, text nodes or
// setAttribute — never through HTML parsing — so names typed by users cannot inject markup.
'use strict';

(() => {
  const TOKEN_KEY = 'feihong.admin.accessToken';
  const ZONE = 'Asia/Shanghai';
  const SVG_NS = 'http://www.w3.org/2000/svg';

  const LOGIN = `mutation($phone: String!, $password: String!) {
    login(phone: $phone, password: $password) { accessToken refreshToken }
  }`;
  const REFRESH = `mutation($token: String!) {
    refreshSession(refreshToken: $token) { accessToken refreshToken }
  }`;
  const LOGOUT = 'mutation($token: String!) { logout(refreshToken: $token) }';
  // The admin's areas with two levels below them: a city admin drills into its districts and
  // their towns, a district admin into its towns and their communities.
  const AREA = 'id code name nameEn level';
  const ME = `{ me { displayName roles { kind area {
    ${AREA} children { ${AREA} children { ${AREA} } }
  } } } }`;
  const FIGURES =
    'key activeVolunteers newVolunteers eventsHeld signUps attended noShows approvedMinutes';
  // One request for the statistics: the three groupings and the top teams. The area is broken
  // down by district for a city, by town below it.
  const DASHBOARD = `query($area: ID!, $from: Date!, $to: Date!, $by: StatsDimension!) {
    byMonth: participationStats(areaId: $area, from: $from, to: $to, groupBy: [MONTH]) {
      totals { ${FIGURES} } rows { ${FIGURES} }
    }
    byArea: participationStats(areaId: $area, from: $from, to: $to, groupBy: [$by]) {
      rows { ${FIGURES} }
    }
    byKind: participationStats(areaId: $area, from: $from, to: $to, groupBy: [TEAM_KIND]) {
      rows { ${FIGURES} }
    }
    topTeams: teamLeaderboard(areaId: $area, period: YEAR, first: 10) {
      rank minutes team { id name kind area { name } }
    }
    response: responseStats(areaId: $area, from: $from, to: $to) {
      incidents staffed medianSecondsToFirstAcceptance p90SecondsToFirstAcceptance
      medianSecondsToFirstArrival p90SecondsToFirstArrival staffedWithinRing { radiusM share }
    }
  }`;

  // The area's teams, a page at a time (their counters come batched, one query per field).
  const TEAMS = `query($area: ID!, $after: String) {
    teams(filter: { areaId: $area }, first: 100, after: $after) {
      totalCount pageInfo { hasNextPage endCursor }
      nodes {
        id name kind area { name } memberCount activeMembers(period: YEAR)
        minutesYear: serviceMinutes(period: YEAR) minutesAll: serviceMinutes(period: ALL_TIME)
      }
    }
  }`;
  // The teams table reads at most this many: past it, drill into a district or town.
  const MAX_TEAMS = 500;

  const KIND_LABELS = {
    KUNG_FU_PATROL: '功夫巡逻队',
    ANTI_FRAUD: '反诈宣传队',
    CAMPUS_GUARD: '护校队',
    COMMUNITY_110: '社区110',
    GRID_PATROL: '网格巡逻队',
    OTHER: '其他',
  };

  const ERRORS = {
    NOT_ADMIN: ['您不是管理员，无法查看管理看板。', 'Not an admin: this dashboard is for area admins only.'],
    FORBIDDEN: ['您不是该区域的管理员，无权查看。', 'Forbidden: you are not an admin of this area.'],
    BAD_LOGIN: ['手机号或密码错误。', 'Wrong phone number or password.'],
    UNAUTHENTICATED: ['登录已过期，请重新登录。', 'Your session has ended; please sign in again.'],
    RATE_LIMITED: ['尝试过于频繁，请稍后再试。', 'Too many attempts; please wait and try again.'],
    BAD_RANGE: ['请选择有效的日期范围。', 'Choose a valid date range (from ≤ to).'],
    BAD_USER_INPUT: ['查询条件有误。', 'The request was not valid.'],
    NOT_FOUND: ['找不到该区域。', 'Area not found.'],
    UNAVAILABLE: ['服务暂时不可用，请稍后再试。', 'The service is unavailable; try again shortly.'],
    NETWORK: ['无法连接服务器。', 'Cannot reach the server.'],
    INTERNAL: ['服务器出错，请稍后再试。', 'The server failed; try again later.'],
  };

  const state = {
    token: sessionStorage.getItem(TOKEN_KEY),
    // Memory only: a page reload keeps the short-lived access token, never the refresh token.
    refreshToken: null,
    areas: [],
    loads: 0,
    teams: [],
    teamSort: { key: 'minutesYear', descending: true },
  };

  const $ = (id) => document.getElementById(id);
  const integer = new Intl.NumberFormat('zh-CN', { maximumFractionDigits: 0 });
  const oneDecimal = new Intl.NumberFormat('zh-CN', {
    minimumFractionDigits: 1,
    maximumFractionDigits: 1,
  });
  const count = (n) => integer.format(n);
  const hours = (minutes) => oneDecimal.format(minutes / 60);
  const pad = (n) => String(n).padStart(2, '0');

  // ---- API ----------------------------------------------------------------------------------

  class ApiError extends Error {
    constructor(code, message) {
      super(message);
      this.code = code;
    }
  }

  function setToken(token) {
    state.token = token;
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
  }

  function remember(payload) {
    setToken(payload.accessToken);
    state.refreshToken = payload.refreshToken;
  }

  function authHeaders() {
    return state.token ? { Authorization: `Bearer ${state.token}` } : {};
  }

  async function post(query, variables) {
    let response;
    try {
      response = await fetch('/graphql', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...authHeaders() },
        body: JSON.stringify({ query, variables }),
        credentials: 'omit',
        cache: 'no-store',
      });
    } catch (_) {
      throw new ApiError('NETWORK', '');
    }
    let body;
    try {
      body = await response.json();
    } catch (_) {
      throw new ApiError(codeForStatus(response.status), `HTTP ${response.status}`);
    }
    const first = body.errors && body.errors[0];
    if (first) {
      throw new ApiError((first.extensions && first.extensions.code) || 'INTERNAL', first.message);
    }
    return body.data;
  }

  // Access tokens live 15 minutes: on UNAUTHENTICATED, spend the refresh token once and retry.
  async function graphql(query, variables) {
    try {
      return await post(query, variables);
    } catch (error) {
      if (error.code !== 'UNAUTHENTICATED' || !state.refreshToken) throw error;
      await refresh();
      return post(query, variables);
    }
  }

  async function refresh() {
    const token = state.refreshToken;
    state.refreshToken = null;
    setToken(null);
    const data = await post(REFRESH, { token });
    remember(data.refreshSession);
  }

  function codeForStatus(status) {
    if (status === 401) return 'UNAUTHENTICATED';
    if (status === 403) return 'FORBIDDEN';
    if (status === 404) return 'NOT_FOUND';
    if (status === 429) return 'RATE_LIMITED';
    if (status === 503) return 'UNAVAILABLE';
    return status >= 500 ? 'INTERNAL' : 'BAD_USER_INPUT';
  }

  // ---- Messages -----------------------------------------------------------------------------

  function showError(code, detail) {
    const [zh, en] = ERRORS[code] || ERRORS.INTERNAL;
    $('error-zh').textContent = zh;
    $('error-en').textContent = en;
    $('error-detail').textContent = detail ? `${code}: ${detail}` : code;
    $('error').dataset.code = code;
    $('error').hidden = false;
  }

  function clearError() {
    $('error').hidden = true;
    delete $('error').dataset.code;
  }

  function status(text) {
    $('status').textContent = text;
  }

  function report(error, code) {
    if (error.code === 'UNAUTHENTICATED' && !code) {
      state.refreshToken = null;
      setToken(null);
      showSignIn();
    }
    showError(code || error.code || 'INTERNAL', error.message);
  }

  // ---- Sign-in and session ------------------------------------------------------------------

  function showSignIn() {
    $('dashboard').hidden = true;
    $('who').hidden = true;
    $('sign-in').hidden = false;
    $('phone').focus();
  }

  async function onSignIn(event) {
    event.preventDefault();
    clearError();
    const button = $('sign-in-button');
    button.disabled = true;
    try {
      setToken(null);
      const data = await post(LOGIN, { phone: $('phone').value.trim(), password: $('password').value });
      remember(data.login);
      $('password').value = '';
      await start();
    } catch (error) {
      report(error, error.code === 'UNAUTHENTICATED' ? 'BAD_LOGIN' : undefined);
    } finally {
      button.disabled = false;
    }
  }

  async function signOut() {
    if (state.refreshToken) {
      // Ends the login on the server too; signed out locally whatever it answers.
      await post(LOGOUT, { token: state.refreshToken }).catch(() => {});
    }
    state.refreshToken = null;
    setToken(null);
    state.loads += 1;
    clearError();
    status('');
    showSignIn();
  }

  // After sign-in (or a reload with a token): who is this, and which areas do they admin?
  async function start() {
    const data = await graphql(ME, {});
    if (!data.me) {
      setToken(null);
      showSignIn();
      return;
    }
    state.areas = areaMenu(data.me.roles);
    if (!state.areas.length) {
      const name = data.me.displayName;
      await signOut();
      showError('NOT_ADMIN', name);
      return;
    }
    $('who-name').textContent = data.me.displayName;
    $('who').hidden = false;
    const select = $('area');
    select.replaceChildren(
      ...state.areas.map(({ area, depth }) => {
        const label = area.nameEn && area.nameEn !== area.name ? `${area.name} ${area.nameEn}` : area.name;
        // Indented by depth (U+3000 ideographic spaces), as text: names never become markup.
        return el('option', {
          value: area.id, 'data-code': area.code, 'data-level': area.level, 'data-depth': depth,
        }, `${'\u3000'.repeat(depth)}${label}`);
      }),
    );
    if (!$('from').value || !$('to').value) {
      const range = lastTwelveMonths();
      $('from').value = range.from;
      $('to').value = range.to;
    }
    $('sign-in').hidden = true;
    $('dashboard').hidden = false;
    await load();
  }

  // Each administered area, then the areas below it (depth first), once each: an admin of the
  // city and of one of its districts sees the district once, under the city.
  function areaMenu(roles) {
    const seen = new Set();
    const menu = [];
    const visit = (area, depth) => {
      if (!area || seen.has(area.id)) return;
      seen.add(area.id);
      menu.push({ area, depth });
      for (const child of area.children || []) visit(child, depth + 1);
    };
    for (const role of roles) if (role.kind === 'ADMIN') visit(role.area, 0);
    return menu;
  }

  function selectedLevel() {
    const option = $('area').selectedOptions[0];
    return (option && option.dataset.level) || 'CITY';
  }

  // ---- Dates (periods are cut in the city's time zone, Asia/Shanghai) -----------------------

  function todayInZone() {
    const parts = {};
    const format = new Intl.DateTimeFormat('en-US', {
      timeZone: ZONE,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
    });
    for (const part of format.formatToParts(new Date())) parts[part.type] = part.value;
    return `${parts.year}-${parts.month}-${parts.day}`;
  }

  // From the first day of the month eleven months ago to today: twelve whole calendar months.
  function lastTwelveMonths() {
    const to = todayInZone();
    let [year, month] = to.split('-').map(Number);
    month -= 11;
    if (month < 1) {
      month += 12;
      year -= 1;
    }
    return { from: `${year}-${pad(month)}-01`, to };
  }

  function monthsBetween(from, to) {
    const months = [];
    let [year, month] = from.split('-').map(Number);
    const [lastYear, lastMonth] = to.split('-').map(Number);
    // The server allows at most three years; the bound only guards against odd input.
    while ((year < lastYear || (year === lastYear && month <= lastMonth)) && months.length < 48) {
      months.push(`${year}-${pad(month)}`);
      month += 1;
      if (month > 12) {
        month = 1;
        year += 1;
      }
    }
    return months;
  }

  // ---- Loading ------------------------------------------------------------------------------

  async function load() {
    const area = $('area').value;
    const from = $('from').value;
    const to = $('to').value;
    if (!from || !to || from > to) {
      showError('BAD_RANGE');
      return;
    }
    clearError();
    // A later request wins: answers to earlier ones are dropped when they arrive late.
    const ticket = ++state.loads;
    const board = $('dashboard');
    board.dataset.state = 'loading';
    $('apply').disabled = true;
    status('加载中… Loading…');
    const by = selectedLevel() === 'CITY' ? 'DISTRICT' : 'TOWN';
    try {
      // One after the other: should the token have expired, the first refreshes it once.
      const data = await graphql(DASHBOARD, { area, from, to, by });
      const teams = await areaTeams(area);
      if (ticket !== state.loads) return;
      render(data, from, to, by);
      state.teams = teams.nodes;
      renderTeamTable(teams.total);
      board.dataset.area = area;
      board.dataset.state = 'ready';
      status(`已更新 Updated ${new Date().toLocaleTimeString('zh-CN', { timeZone: ZONE })}`);
    } catch (error) {
      if (ticket !== state.loads) return;
      board.dataset.state = 'error';
      status('');
      report(error);
    } finally {
      $('apply').disabled = false;
    }
  }

  // ---- Rendering ----------------------------------------------------------------------------

  function el(name, attrs = {}, ...children) {
    const node = document.createElement(name);
    for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
    node.append(...children);
    return node;
  }

  function svg(name, attrs = {}, text) {
    const node = document.createElementNS(SVG_NS, name);
    for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // "中文 <small>English</small>" as nodes.
  function bilingual([zh, en]) {
    return [`${zh} `, el('small', { lang: 'en' }, en)];
  }

  // The area's teams: up to MAX_TEAMS of them, a hundred a request.
  async function areaTeams(area) {
    const nodes = [];
    let after = null;
    let total = 0;
    do {
      const page = (await graphql(TEAMS, { area, after })).teams;
      nodes.push(...page.nodes);
      total = page.totalCount;
      after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
    } while (after && nodes.length < MAX_TEAMS);
    return { nodes, total };
  }

  function render(data, from, to, by) {
    $('range-label').textContent = `${from} – ${to}`;
    renderTotals(data.byMonth.totals);

    const byKey = new Map(data.byMonth.rows.map((row) => [row.key[0], row]));
    const keys = monthsBetween(from, to);
    for (const key of byKey.keys()) if (!keys.includes(key)) keys.push(key);
    keys.sort();
    const months = keys.map((key) => ({ key, row: byKey.get(key) || emptyFigures(key) }));
    columnChart($('chart-month-hours'), months.map((m, i) => ({
      key: m.key,
      label: monthLabel(m.key, i),
      value: m.row.approvedMinutes / 60,
      text: hours(m.row.approvedMinutes),
    })), { metric: 'approvedHours', barClass: 'bar' });
    columnChart($('chart-month-active'), months.map((m, i) => ({
      key: m.key,
      label: monthLabel(m.key, i),
      value: m.row.activeVolunteers,
      text: count(m.row.activeVolunteers),
    })), { metric: 'activeVolunteers', barClass: 'bar alt', integer: true });
    monthTable($('table-month'), months);

    const heading = by === 'DISTRICT' ? ['按区', 'By district'] : ['按镇街', 'By town'];
    $('heading-area').replaceChildren(...bilingual(heading));
    renderCategory('district', data.byArea.rows, by === 'DISTRICT' ? ['区', 'District'] : ['镇街', 'Town']);
    renderCategory('kind', data.byKind.rows, ['队伍类型', 'Team kind']);
    renderTeams(data.topTeams);
    renderResponse(data.response);
  }

  // Quick response: incidents, how fast they were answered, how many were staffed near by.
  function renderResponse(stats) {
    const seconds = (value) => (value === null || value === undefined ? '–' : `${value} s`);
    const card = (metric, label, text) => el('div', { class: 'stat', 'data-stat': metric },
      el('span', { class: 'label' }, ...bilingual(label)),
      el('strong', { 'data-metric': metric }, text));
    const cards = [
      card('incidents', ['事件', 'Incidents'], count(stats.incidents)),
      card('staffed', ['人手到齐', 'Fully staffed'], count(stats.staffed)),
      card('medianToAccept', ['接受用时中位数', 'Median to first acceptance'],
        seconds(stats.medianSecondsToFirstAcceptance)),
      card('p90ToAccept', ['接受用时 P90', '90th percentile to acceptance'],
        seconds(stats.p90SecondsToFirstAcceptance)),
      card('medianToArrive', ['到场用时中位数', 'Median to first arrival'],
        seconds(stats.medianSecondsToFirstArrival)),
      card('p90ToArrive', ['到场用时 P90', '90th percentile to arrival'],
        seconds(stats.p90SecondsToFirstArrival)),
    ];
    for (const ring of stats.staffedWithinRing) {
      cards.push(card(`within${ring.radiusM}`, [`${ring.radiusM} 米内到齐`, `Staffed within ${ring.radiusM} m`],
        `${Math.round(ring.share * 100)}%`));
    }
    $('response').replaceChildren(...cards);
  }

  function emptyFigures(key) {
    return {
      key: [key],
      activeVolunteers: 0,
      newVolunteers: 0,
      eventsHeld: 0,
      signUps: 0,
      attended: 0,
      noShows: 0,
      approvedMinutes: 0,
    };
  }

  // "5月", with the year under the first month and under each January.
  function monthLabel(key, index) {
    const [year, month] = key.split('-');
    return { main: `${Number(month)}月`, sub: index === 0 || month === '01' ? year : '' };
  }

  const TOTALS = [
    ['activeVolunteers', '活跃志愿者', 'Active volunteers'],
    ['newVolunteers', '新注册', 'New volunteers'],
    ['eventsHeld', '举办活动', 'Events held'],
    ['signUps', '报名', 'Sign-ups'],
    ['attended', '到场', 'Attended'],
    ['noShows', '缺席', 'No-shows'],
  ];

  function renderTotals(totals) {
    const cards = [
      el('div', { class: 'stat', 'data-stat': 'approvedMinutes' },
        el('span', { class: 'label' }, ...bilingual(['服务时长（小时）', 'Approved hours'])),
        el('strong', { 'data-metric': 'approvedHours' }, hours(totals.approvedMinutes)),
        el('span', { class: 'sub' },
          el('span', { 'data-metric': 'approvedMinutes' }, count(totals.approvedMinutes)),
          ' 分钟 minutes')),
    ];
    for (const [metric, zh, en] of TOTALS) {
      cards.push(el('div', { class: 'stat', 'data-stat': metric },
        el('span', { class: 'label' }, ...bilingual([zh, en])),
        el('strong', { 'data-metric': metric }, count(totals[metric]))));
    }
    $('totals').replaceChildren(...cards);
  }

  // Months across, three figures down: twelve months fit the width of the page.
  function monthTable(container, months) {
    const head = el('tr', {}, el('th', {}, ...bilingual(['月份', 'Month'])));
    for (const m of months) head.append(el('th', { class: 'num', scope: 'col' }, m.key));
    const line = (label, metric, text) => {
      const tr = el('tr', { 'data-metric': metric }, el('th', { scope: 'row' }, ...bilingual(label)));
      for (const m of months) {
        tr.append(el('td', { class: 'num', 'data-metric': metric, 'data-key': m.key }, text(m.row)));
      }
      return tr;
    };
    const body = el('tbody', {},
      line(['服务时长（小时）', 'Hours'], 'approvedHours', (r) => hours(r.approvedMinutes)),
      line(['服务分钟', 'Minutes'], 'approvedMinutes', (r) => count(r.approvedMinutes)),
      line(['活跃志愿者', 'Active volunteers'], 'activeVolunteers', (r) => count(r.activeVolunteers)));
    container.replaceChildren(el('table', { class: 'data' }, el('thead', {}, head), body));
  }

  const CATEGORY_COLUMNS = [
    ['approvedHours', '时长（小时）', 'Hours', (r) => hours(r.approvedMinutes)],
    ['approvedMinutes', '分钟', 'Minutes', (r) => count(r.approvedMinutes)],
    ['activeVolunteers', '活跃志愿者', 'Active', (r) => count(r.activeVolunteers)],
    ['eventsHeld', '活动', 'Events', (r) => count(r.eventsHeld)],
    ['signUps', '报名', 'Sign-ups', (r) => count(r.signUps)],
    ['attended', '到场', 'Attended', (r) => count(r.attended)],
  ];

  function renderCategory(name, rows, heading) {
    const sorted = [...rows].sort((a, b) => b.approvedMinutes - a.approvedMinutes);
    barChart($(`chart-${name}`), sorted.map((row) => ({
      key: row.key[0],
      label: row.key[0],
      value: row.approvedMinutes,
      text: `${hours(row.approvedMinutes)} h`,
    })), { metric: 'approvedHours', barClass: name === 'kind' ? 'bar alt' : 'bar' });
    const head = el('tr', {}, el('th', {}, ...bilingual(heading)));
    for (const [, zh, en] of CATEGORY_COLUMNS) head.append(el('th', { class: 'num' }, ...bilingual([zh, en])));
    const body = el('tbody');
    for (const row of sorted) {
      const key = row.key[0];
      const tr = el('tr', { 'data-key': key }, el('th', { scope: 'row' }, key));
      for (const [metric, , , text] of CATEGORY_COLUMNS) {
        tr.append(el('td', { class: 'num', 'data-metric': metric, 'data-key': key }, text(row)));
      }
      body.append(tr);
    }
    const table = el('table', { class: 'data' }, el('thead', {}, head), body);
    $(`table-${name}`).replaceChildren(sorted.length ? table : empty());
  }

  function renderTeams(entries) {
    barChart($('chart-teams'), entries.map((entry) => ({
      key: String(entry.rank),
      label: `${entry.rank}. ${entry.team.name}`,
      value: entry.minutes,
      text: `${hours(entry.minutes)} h`,
    })), { metric: 'approvedHours', barClass: 'bar', labelWidth: 260, width: 1100 });
    const head = el('tr', {},
      el('th', { class: 'num' }, ...bilingual(['排名', 'Rank'])),
      el('th', {}, ...bilingual(['队伍', 'Team'])),
      el('th', {}, ...bilingual(['类型', 'Kind'])),
      el('th', {}, ...bilingual(['区域', 'Area'])),
      el('th', { class: 'num' }, ...bilingual(['时长（小时）', 'Hours'])),
      el('th', { class: 'num' }, ...bilingual(['分钟', 'Minutes'])));
    const body = el('tbody');
    for (const entry of entries) {
      const key = String(entry.rank);
      const cell = (metric, text, cls) =>
        el('td', { class: cls || '', 'data-metric': metric, 'data-key': key }, text);
      body.append(el('tr', { 'data-rank': key, 'data-team-id': entry.team.id },
        cell('rank', key, 'num'),
        cell('name', entry.team.name),
        cell('kind', KIND_LABELS[entry.team.kind] || entry.team.kind),
        cell('area', (entry.team.area && entry.team.area.name) || ''),
        cell('approvedHours', hours(entry.minutes), 'num'),
        cell('minutes', count(entry.minutes), 'num')));
    }
    const table = el('table', { class: 'data' }, el('thead', {}, head), body);
    $('table-teams').replaceChildren(entries.length ? table : empty());
  }

  // The sortable columns of the teams table: key, heading, text, numeric.
  const TEAM_COLUMNS = [
    ['name', ['队伍', 'Team'], (t) => t.name, false],
    ['kind', ['类型', 'Kind'], (t) => KIND_LABELS[t.kind] || t.kind, false],
    ['area', ['区域', 'Area'], (t) => (t.area && t.area.name) || '', false],
    ['memberCount', ['成员', 'Members'], (t) => count(t.memberCount), true],
    ['activeMembers', ['本年活跃成员', 'Active this year'], (t) => count(t.activeMembers), true],
    ['minutesYear', ['本年时长（小时）', 'Hours this year'], (t) => hours(t.minutesYear), true],
    ['minutesAll', ['累计时长（小时）', 'Hours, all time'], (t) => hours(t.minutesAll), true],
  ];

  function sortValue(team, key) {
    if (key === 'kind') return KIND_LABELS[team.kind] || team.kind;
    if (key === 'area') return (team.area && team.area.name) || '';
    return team[key];
  }

  function sortedTeams() {
    const { key, descending } = state.teamSort;
    const collator = new Intl.Collator('zh-CN');
    const sign = descending ? -1 : 1;
    return [...state.teams].sort((a, b) => {
      const x = sortValue(a, key);
      const y = sortValue(b, key);
      const order = typeof x === 'number' ? x - y : collator.compare(x, y);
      return sign * order || collator.compare(a.name, b.name);
    });
  }

  function renderTeamTable(total) {
    if (total !== undefined) {
      $('teams-note').textContent = total > state.teams.length
        ? `显示前 ${count(state.teams.length)} 支，共 ${count(total)} 支；请选择下级区域 ` +
          `Showing ${count(state.teams.length)} of ${count(total)} teams; choose a district or town`
        : `共 ${count(total)} 支 ${count(total)} ${total === 1 ? 'team' : 'teams'}`;
    }
    const { key: sortKey, descending } = state.teamSort;
    const head = el('tr');
    for (const [key, label, , numeric] of TEAM_COLUMNS) {
      const sorted = key === sortKey;
      const th = el('th', {
        class: numeric ? 'num' : '',
        'aria-sort': sorted ? (descending ? 'descending' : 'ascending') : 'none',
      }, el('button', { type: 'button', class: 'sort', 'data-sort': key }, ...bilingual(label),
        sorted ? (descending ? ' ▼' : ' ▲') : ''));
      head.append(th);
    }
    head.append(el('th', {}, ...bilingual(['导出', 'Export'])));
    const body = el('tbody');
    for (const team of sortedTeams()) {
      const tr = el('tr', { 'data-team-id': team.id });
      for (const [key, , text, numeric] of TEAM_COLUMNS) {
        tr.append(el('td', { class: numeric ? 'num' : '', 'data-metric': key }, text(team)));
      }
      tr.append(el('td', {}, el('button', {
        type: 'button', class: 'link', 'data-export': 'roster', 'data-team-id': team.id,
        'data-team-name': team.name,
      }, ...bilingual(['花名册', 'Roster CSV']))));
      body.append(tr);
    }
    const table = el('table', { class: 'data', 'data-sort': sortKey, 'data-order': descending ? 'desc' : 'asc' },
      el('thead', {}, head), body);
    $('table-all-teams').replaceChildren(state.teams.length ? table : empty());
  }

  function onTeamTableClick(event) {
    const sort = event.target.closest('button[data-sort]');
    if (sort) {
      const key = sort.dataset.sort;
      const numeric = TEAM_COLUMNS.find(([k]) => k === key)[3];
      state.teamSort = key === state.teamSort.key
        ? { key, descending: !state.teamSort.descending }
        : { key, descending: numeric };
      renderTeamTable();
      return;
    }
    const exporter = event.target.closest('button[data-export="roster"]');
    if (exporter) {
      const id = exporter.dataset.teamId;
      const name = exporter.dataset.teamName.replace(/[\\/:*?"<>|\s]+/g, '_');
      downloadCsv(`/teams/${encodeURIComponent(id)}/exports/roster.csv`, `roster_${name}.csv`, exporter);
    }
  }

  function empty() {
    return el('p', { class: 'empty' }, ...bilingual(['暂无数据', 'No data in this range']));
  }

  // ---- Charts (inline SVG; sizes in viewBox units, scaled to the card by CSS) --------------

  // The top of the axis: four ticks of a round step (1, 2, 2.5, 5 × 10ⁿ; whole for counts).
  function axisMax(value, integerOnly) {
    if (value <= 0) return integerOnly ? 4 : 1;
    const raw = value / 4;
    const power = 10 ** Math.floor(Math.log10(raw));
    const steps = integerOnly ? [1, 2, 5, 10] : [1, 2, 2.5, 5, 10];
    let step = steps.map((s) => s * power).find((s) => s >= raw) || 10 * power;
    if (integerOnly) step = Math.max(1, Math.ceil(step));
    return step * 4;
  }

  // Labels above bars: short enough to sit over a bar; the table has the exact figure.
  function compact(text, value) {
    return value >= 100000 ? `${(value / 10000).toFixed(0)}万` : text;
  }

  function columnChart(container, items, { metric, barClass, integer: integerOnly }) {
    const width = 560;
    const height = 240;
    const left = 40;
    const top = 20;
    const plotW = width - left - 8;
    const plotH = height - top - 40;
    const max = axisMax(Math.max(0, ...items.map((item) => item.value)), integerOnly);
    const chart = svg('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'data-chart': metric });
    for (let i = 0; i <= 4; i += 1) {
      const y = top + plotH - (plotH * i) / 4;
      const tick = (max * i) / 4;
      chart.append(svg('line', { class: 'grid', x1: left, x2: width - 8, y1: y, y2: y }));
      chart.append(svg('text', { class: 'axis', x: left - 6, y: y + 4, 'text-anchor': 'end' },
        integerOnly || tick >= 10 ? count(tick) : oneDecimal.format(tick)));
    }
    const step = plotW / Math.max(items.length, 1);
    const barW = Math.min(32, step * 0.7);
    items.forEach((item, i) => {
      const h = (plotH * item.value) / max;
      const x = left + step * i + (step - barW) / 2;
      const center = x + barW / 2;
      const rect = svg('rect', { class: barClass, x, y: top + plotH - h, width: barW, height: h, 'data-key': item.key });
      rect.append(svg('title', {}, `${item.key}: ${item.text}`));
      chart.append(rect);
      chart.append(svg('text', {
        class: 'value', x: center, y: top + plotH - h - 4, 'text-anchor': 'middle',
        'data-metric': metric, 'data-key': item.key,
      }, compact(item.text, item.value)));
      chart.append(svg('text', { class: 'axis', x: center, y: top + plotH + 15, 'text-anchor': 'middle' }, item.label.main));
      if (item.label.sub) {
        chart.append(svg('text', { class: 'axis', x: center, y: top + plotH + 30, 'text-anchor': 'middle' }, item.label.sub));
      }
    });
    chart.append(svg('line', { class: 'baseline', x1: left, x2: width - 8, y1: top + plotH, y2: top + plotH }));
    container.replaceChildren(chart);
  }

  function barChart(container, items, { metric, barClass, labelWidth = 130, width = 560 }) {
    if (!items.length) {
      container.replaceChildren(empty());
      return;
    }
    const row = 26;
    const valueW = 80;
    const plotW = width - labelWidth - valueW;
    const max = Math.max(...items.map((item) => item.value)) || 1;
    const chart = svg('svg', { viewBox: `0 0 ${width} ${row * items.length + 8}`, role: 'img', 'data-chart': metric });
    items.forEach((item, i) => {
      const y = 4 + row * i;
      const w = (plotW * item.value) / max;
      // SVG text does not wrap or clip: long names are cut here and given whole in the title.
      const room = Math.floor(labelWidth / 13);
      const short = item.label.length > room ? `${item.label.slice(0, room - 1)}…` : item.label;
      const label = svg('text', { x: labelWidth - 8, y: y + row / 2 + 4, 'text-anchor': 'end' }, short);
      label.append(svg('title', {}, item.label));
      chart.append(label);
      chart.append(svg('rect', { class: 'track', x: labelWidth, y: y + 4, width: plotW, height: row - 8 }));
      chart.append(svg('rect', { class: barClass, x: labelWidth, y: y + 4, width: w, height: row - 8, 'data-key': item.key }));
      chart.append(svg('text', {
        class: 'value', x: labelWidth + w + 6, y: y + row / 2 + 4,
        'data-metric': metric, 'data-key': item.key,
      }, item.text));
    });
    container.replaceChildren(chart);
  }

  // ---- Export -------------------------------------------------------------------------------

  function exportCsv() {
    const from = $('from').value;
    const to = $('to').value;
    const params = new URLSearchParams({ areaId: $('area').value, from, to, groupBy: 'DISTRICT,MONTH' });
    downloadCsv(`/admin/exports/participation.csv?${params}`, `participation_${from}_${to}.csv`, $('export'));
  }

  // Fetches a CSV with the bearer token and hands it to the browser as a download; the button
  // is disabled meanwhile and carries the size it got (`data-bytes`).
  async function downloadCsv(path, filename, button) {
    clearError();
    const fetchCsv = () => fetch(path, {
      headers: authHeaders(),
      credentials: 'omit',
      cache: 'no-store',
    });
    button.disabled = true;
    status('正在导出… Exporting…');
    try {
      let response = await fetchCsv().catch(() => { throw new ApiError('NETWORK', ''); });
      if (response.status === 401 && state.refreshToken) {
        await refresh();
        response = await fetchCsv();
      }
      if (!response.ok) {
        // Plain HTTP routes answer errors as JSON: { code, message, requestId }.
        const body = await response.json().catch(() => ({}));
        const detail = body.message ? `${body.message} (request ${body.requestId})` : `HTTP ${response.status}`;
        throw new ApiError(body.code || codeForStatus(response.status), detail);
      }
      const blob = await response.blob();
      const url = URL.createObjectURL(blob);
      const link = el('a', { href: url, download: filename });
      document.body.append(link);
      link.click();
      link.remove();
      // The download has started from the URL; it only needs to outlive the click.
      setTimeout(() => URL.revokeObjectURL(url), 60000);
      button.dataset.bytes = String(blob.size);
      status(`已导出 Exported (${count(blob.size)} bytes)`);
    } catch (error) {
      status('');
      report(error);
    } finally {
      button.disabled = false;
    }
  }

  // ---- Start --------------------------------------------------------------------------------

  $('sign-in-form').addEventListener('submit', onSignIn);
  $('filters').addEventListener('submit', (event) => {
    event.preventDefault();
    load();
  });
  $('area').addEventListener('change', load);
  $('export').addEventListener('click', exportCsv);
  $('table-all-teams').addEventListener('click', onTeamTableClick);
  $('sign-out').addEventListener('click', signOut);
  if (state.token) start().catch((error) => report(error));
  else showSignIn();
})();
