// The log page: keeps the view at the bottom of a growing log while the reader is there, and
// lets go when they scroll up. Loaded from the page's head (the server's Content-Security-
// Policy allows no inline script), so it runs before the body exists and looks for it later.
(function () {
  var w = window, d = document, stick = true;
  function atEnd() { return w.innerHeight + w.scrollY >= d.body.scrollHeight - 20; }
  w.addEventListener('scroll', function () { if (d.body) stick = atEnd(); });
  setInterval(function () { if (stick && d.body) w.scrollTo(0, d.body.scrollHeight); }, 300);
})();
