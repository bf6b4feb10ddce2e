import Hummingbird

/// The dashboard's one stylesheet and its few lines of script, served by the app (no CDN: works offline).
enum Assets {
    static func addRoutes(to router: some RouterMethods<EmiliaRequestContext>) {
        router.get("assets/emilia.css") { _, _ in asset(stylesheet, type: "text/css; charset=utf-8") }
        router.get("assets/emilia.js") { _, _ in asset(script, type: "text/javascript; charset=utf-8") }
        // Pages link the icon; browsers still ask for /favicon.ico on anything else they show (JSON answers).
        for path in ["assets/favicon.svg", "favicon.ico"] {
            router.get(RouterPath(path)) { _, _ in asset(favicon, type: "image/svg+xml") }
        }
    }

    static func asset(_ text: String, type: String) -> Response {
        Response(
            status: .ok, headers: [.contentType: type, .cacheControl: "public, max-age=300"],
            body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    /// The icon: a rounded square in the dashboard's ink, with a white "E".
    static let favicon = """
        <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="7" fill="#1d232b"/>\
        <path d="M10 8h12v3.2h-8.4v3.2h7.6v3.2h-7.6v3.2H22V24H10z" fill="#fff"/></svg>
        """

    static let stylesheet = """
        :root { --ink: #1d232b; --muted: #5b6672; --line: #d9dee4; --bg: #f6f7f9; --card: #fff; --accent: #1f6feb;
                --open: #c77700; --warn: #b42318; --ok: #1a7f37; --dev: #7a3fc0; }
        * { box-sizing: border-box; }
        body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: var(--bg); }
        nav { display: flex; gap: 18px; align-items: center; padding: 10px 20px; background: var(--ink); }
        nav a, nav .link { color: #e8edf2; text-decoration: none; }
        nav .brand { font-weight: 700; margin-right: 12px; }
        nav form { margin-left: auto; }
        main { max-width: 1280px; margin: 0 auto; padding: 20px; }
        h1 { font-size: 1.5rem; margin: 0 0 12px; } h2 { font-size: 1.15rem; margin: 24px 0 8px; }
        .card > h2:first-child { margin-top: 0; }
        .card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 16px; margin-bottom: 16px; overflow-x: auto; }
        .grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(380px, 1fr)); gap: 16px; }
        table { border-collapse: collapse; width: 100%; } th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
        th { color: var(--muted); font-weight: 600; font-size: .85rem; }
        .num { text-align: right; font-variant-numeric: tabular-nums; }
        label { display: block; font-weight: 600; margin: 8px 0 4px; }
        input, select, button { font: inherit; padding: 6px 10px; border: 1px solid var(--line); border-radius: 6px; background: #fff; color: var(--ink); }
        button, .button { background: var(--accent); color: #fff; border-color: var(--accent); cursor: pointer; text-decoration: none; display: inline-block; }
        button.secondary { background: #fff; color: var(--ink); border-color: var(--line); }
        button.link { background: none; border: none; padding: 0; }
        form.inline { display: inline; } .filters { display: flex; flex-wrap: wrap; gap: 10px; align-items: end; }
        .filters label { margin: 0 0 2px; font-size: .85rem; }
        .error { color: var(--warn); font-weight: 600; } .muted { color: var(--muted); }
        .badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: .8rem; font-weight: 600; background: #e8edf2; }
        .badge.active, .badge.closed { background: #dafbe1; color: var(--ok); } .badge.inactive { background: #ffebe9; color: var(--warn); }
        .badge.open { background: #fff1d6; color: var(--open); } .badge.warn { background: #ffebe9; color: var(--warn); }
        .env-switch a { padding: 4px 12px; border: 1px solid var(--line); border-radius: 6px; text-decoration: none; color: var(--ink); background: #fff; }
        .env-switch a.current { background: var(--ink); color: #fff; } .env-switch a.dev.current { background: var(--dev); border-color: var(--dev); }
        .env-banner { background: var(--dev); color: #fff; text-align: center; font-weight: 700; padding: 6px; letter-spacing: .04em; }
        .chart { width: 100%; height: auto; } .chart[data-chart=timeline] { min-width: 720px; } .chart .grid { stroke: #edf0f3; } .chart .axis, .chart .label, .chart .value { font-size: 11px; fill: var(--muted); }
        .chart .bar { fill: var(--accent); } .chart .session.closed { fill: var(--accent); } .chart .hatch { fill: var(--open); }
        .chart .session.open { fill: url(#hatch); stroke: var(--open); stroke-dasharray: 4 2; } .chart .empty { fill: var(--muted); font-size: 13px; }
        pre { background: #0f1720; color: #e6edf3; padding: 14px; border-radius: 8px; overflow-x: auto; font-size: 13px; }
        .token-once { font: 600 1.05rem ui-monospace, monospace; background: #fff8c5; padding: 8px; border-radius: 6px; word-break: break-all; }
        tr.new { animation: flash 2s ease-out; } @keyframes flash { from { background: #fff8c5; } to { background: transparent; } }
        @media (max-width: 640px) { main { padding: 10px; } .grid { grid-template-columns: 1fr; } nav { flex-wrap: wrap; gap: 10px; } }
        """

    static let script = """
        // Live event log: fetch rows newer than the newest shown, every 2 s, and put them on top.
        (function () {
          var log = document.querySelector('[data-live-events]');
          if (log) {
            setInterval(function () {
              var first = log.querySelector('tr[data-event-id]');
              var url = log.getAttribute('data-live-events') + (first ? '&after=' + first.getAttribute('data-event-id') : '');
              fetch(url, { credentials: 'same-origin' }).then(function (r) { return r.ok ? r.text() : ''; }).then(function (html) {
                if (!html) return;
                var body = log.querySelector('tbody');
                var holder = document.createElement('tbody');
                holder.innerHTML = html;
                var rows = Array.prototype.slice.call(holder.children);
                for (var i = rows.length - 1; i >= 0; i--) { rows[i].classList.add('new'); body.insertBefore(rows[i], body.firstChild); }
                var empty = log.querySelector('[data-empty]'); if (empty && rows.length) empty.remove();
              }).catch(function () {});
            }, 2000);
          }
          document.querySelectorAll('[data-copy]').forEach(function (button) {
            button.addEventListener('click', function () {
              var text = document.getElementById(button.getAttribute('data-copy')).textContent;
              navigator.clipboard && navigator.clipboard.writeText(text);
              button.textContent = 'Copied';
            });
          });
        })();
        """
}
