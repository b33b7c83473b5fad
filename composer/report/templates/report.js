// Filters of the instance list: category, outcome token, and "systems disagree".
(function () {
  var rows = document.querySelectorAll("#instances-table tbody tr");
  var category = document.getElementById("f-category");
  var outcome = document.getElementById("f-outcome");
  var disagree = document.getElementById("f-disagree");
  var count = document.getElementById("f-count");
  function apply() {
    var c = category.value, o = outcome.value, d = disagree.checked, shown = 0;
    for (var k = 0; k < rows.length; k++) {
      var r = rows[k];
      var show = (!c || r.dataset.c === c) &&
        (!o || (" " + r.dataset.o + " ").indexOf(" " + o + " ") >= 0) &&
        (!d || r.dataset.d === "1");
      r.hidden = !show;
      if (show) shown++;
    }
    count.textContent = String(shown);
  }
  category.addEventListener("change", apply);
  outcome.addEventListener("change", apply);
  disagree.addEventListener("change", apply);
  apply();
})();
