// Stripe Elements on the payment page: the card goes from the browser to Stripe, never through the shop.
// Stripe then tells the shop (a signed webhook) and the order page shows the payment once it has arrived.
"use strict";

(function () {
  var form = document.querySelector("form[data-stripe-payment]");
  if (!form || typeof window.Stripe !== "function") { return; }
  var stripe = window.Stripe(form.dataset.publishableKey);
  var card = stripe.elements().create("card");
  var status = form.querySelector("[data-stripe-status]");
  var button = form.querySelector("button[type=submit]");
  card.mount(form.querySelector("[data-stripe-card]"));

  function say(message, isError) {
    status.textContent = message;
    status.classList.toggle("error", Boolean(isError));
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    button.disabled = true;
    say("Paying\u2026", false);
    stripe.confirmCardPayment(form.dataset.clientSecret, {payment_method: {card: card}}).then(function (result) {
      if (result.error) {
        button.disabled = false;
        say(result.error.message || "The payment did not go through. Check the card and try again.", true);
        return;
      }
      window.location.assign(form.dataset.doneUrl);
    }, function () {
      button.disabled = false;
      say("We could not reach the payment service. Check your connection and try again.", true);
    });
  });
}());
