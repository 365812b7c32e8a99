// Render the site's math with the vendored KaTeX (offline: no CDN).
// - Markdown pages: pymdownx.arithmatex (generic mode) wraps TeX in .arithmatex as \( \) and \[ \].
// - Notebook pages: the markdown cells keep the notebooks' $ and $$ delimiters.
// Code, inline or in blocks, is never touched (auto-render skips pre and code).
document$.subscribe(function () {
  var options = { throwOnError: false };
  document.querySelectorAll(".arithmatex").forEach(function (element) {
    renderMathInElement(element, Object.assign({
      delimiters: [
        { left: "\\(", right: "\\)", display: false },
        { left: "\\[", right: "\\]", display: true },
      ],
    }, options));
  });
  document.querySelectorAll(".jp-MarkdownOutput").forEach(function (element) {
    renderMathInElement(element, Object.assign({
      delimiters: [
        { left: "$$", right: "$$", display: true },
        { left: "$", right: "$", display: false },
        { left: "\\(", right: "\\)", display: false },
        { left: "\\[", right: "\\]", display: true },
      ],
    }, options));
  });
});
