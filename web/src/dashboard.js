// The statistics pages of the agent console (handoff/dashboard.py). Bundled with Chart.js by
// esbuild into dist/dashboard.js, served by the console itself (no CDN, no inline script:
// the page's Content-Security-Policy is script-src 'self').
//
// Dashboard: draws a chart above every table that has one (the table stays: it is the chart's
// text alternative), then polls /api/statistiques every few seconds and updates the figures,
// the tables' rows and the charts in place (focus and scroll position are kept).
// Unanswered questions: « Copier en YAML NLU » fetches a group's phrasings for the intent
// typed or chosen, shows them in the group's read-only field and copies them.
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
} from "chart.js";

Chart.register(BarController, BarElement, CategoryScale, Legend, LinearScale, LineController, LineElement, PointElement, Tooltip);
Chart.defaults.font.size = 14; // the page's text size: labels readable at 100 % zoom
Chart.defaults.font.family = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';

// Colours of the French State's design system, each ≥ 3:1 against white (RGAA 3.3).
const COLOURS = ["#000091", "#18753c", "#b34000", "#6e445a", "#a94645", "#3558a2", "#716043", "#008941"];
const charts = {};
const reduced = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;

function text(value) {
  if (value === null || value === undefined) return "—";
  if (typeof value === "number" && !Number.isInteger(value)) return value.toFixed(1).replace(".", ",");
  return String(value);
}

function chartConfig(table) {
  const spec = table.chart;
  const labels = table.rows.map((row) => String(row[spec.labels]));
  const datasets = spec.series.map((column, index) => ({
    label: table.columns[column],
    data: table.rows.map((row) => (typeof row[column] === "number" ? row[column] : 0)),
    backgroundColor: COLOURS[index % COLOURS.length],
    borderColor: COLOURS[index % COLOURS.length],
    borderWidth: spec.type === "line" ? 2 : 0,
  }));
  const stacked = Boolean(spec.stacked);
  return {
    type: spec.type,
    data: { labels, datasets },
    options: {
      animation: reduced ? false : { duration: 300 },
      maintainAspectRatio: false,
      indexAxis: spec.horizontal ? "y" : "x",
      scales: {
        x: { stacked, ticks: { color: "#1e1e1e" } },
        y: { stacked, beginAtZero: true, ticks: { color: "#1e1e1e", precision: 0 } },
      },
      plugins: { legend: { labels: { color: "#1e1e1e" } } },
    },
  };
}

function drawChart(table) {
  const canvas = document.getElementById("graphique-" + table.key);
  if (!canvas || !table.chart) return;
  const config = chartConfig(table);
  const existing = charts[table.key];
  if (existing) {
    existing.data.labels = config.data.labels;
    existing.data.datasets.forEach((dataset, index) => {
      dataset.data = config.data.datasets[index] ? config.data.datasets[index].data : [];
    });
    existing.update(reduced ? "none" : undefined);
    return;
  }
  charts[table.key] = new Chart(canvas, config);
  canvas.setAttribute("data-dessine", "oui");
}

function fillTable(table) {
  const body = document.querySelector("#tableau-" + table.key + " tbody");
  if (!body) return;
  const rows = document.createDocumentFragment();
  if (table.rows.length === 0) {
    const row = document.createElement("tr");
    const cell = document.createElement("td");
    cell.colSpan = table.columns.length;
    cell.textContent = "Aucune donnée sur cette période.";
    row.appendChild(cell);
    rows.appendChild(row);
  }
  table.rows.forEach((values) => {
    const row = document.createElement("tr");
    values.forEach((value, index) => {
      const cell = document.createElement(index === 0 ? "th" : "td");
      if (index === 0) cell.scope = "row";
      cell.textContent = text(value);
      row.appendChild(cell);
    });
    rows.appendChild(row);
  });
  body.replaceChildren(rows);
}

function render(data) {
  data.indicateurs.forEach((item) => {
    const cell = document.querySelector('[data-indicateur="' + item.cle + '"]');
    if (cell) cell.textContent = item.texte;
  });
  data.tableaux.forEach((table) => {
    fillTable(table);
    drawChart(table);
  });
  const clock = document.getElementById("heure-maj");
  if (clock) clock.textContent = data.heure;
}

function dashboard(main) {
  const query = "debut=" + encodeURIComponent(main.dataset.debut) + "&fin=" + encodeURIComponent(main.dataset.fin);
  const every = Number(main.dataset.actualisation || "10") * 1000;
  function refresh() {
    return fetch("/api/statistiques?" + query, { credentials: "same-origin" })
      .then((response) => {
        if (response.status === 401) {
          window.location.href = "/connexion";
          throw new Error("session");
        }
        return response.ok ? response.json() : Promise.reject(new Error(String(response.status)));
      })
      .then(render)
      .catch(() => {});
  }
  refresh().then(() => {
    document.body.setAttribute("data-graphiques", "prets");
  });
  setInterval(refresh, every);
}

function copy(textarea) {
  if (navigator.clipboard && window.isSecureContext) {
    return navigator.clipboard.writeText(textarea.value).then(() => true, () => false);
  }
  textarea.focus();
  textarea.select();
  return Promise.resolve(false);
}

function questions(main) {
  const query = "debut=" + encodeURIComponent(main.dataset.debut) + "&fin=" + encodeURIComponent(main.dataset.fin);
  document.querySelectorAll("form.copie").forEach((form) => {
    const group = form.dataset.groupe;
    const status = document.getElementById("etat-" + group);
    const output = document.getElementById("yaml-" + group);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const intent = form.elements.intention.value.trim();
      const url = "/api/statistiques/questions/phrases?" + query + "&groupe=" + encodeURIComponent(group) +
        "&intention=" + encodeURIComponent(intent);
      fetch(url, { credentials: "same-origin" })
        .then((response) => (response.ok ? response.json() : response.text().then((message) => Promise.reject(new Error(message)))))
        .then((data) => {
          output.value = data.yaml;
          return copy(output);
        })
        .then((copied) => {
          status.textContent = copied
            ? "Phrases copiées : collez-les dans le fichier de données de l'intention."
            : "Phrases prêtes dans le champ ci-dessus : elles sont sélectionnées, copiez-les (Ctrl+C).";
        })
        .catch((error) => {
          status.textContent = error.message || "La copie a échoué : réessayez.";
        });
    });
  });
}

const main = document.getElementById("contenu");
if (main && document.querySelector("form.copie")) questions(main);
else if (main && main.dataset.actualisation) dashboard(main);
