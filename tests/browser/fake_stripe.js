// A stand-in for Stripe.js (https://js.stripe.com/v3/) in browser tests, which cannot reach Stripe: the same
// calls our payment page makes (Stripe(key).elements().create("card").mount(el), stripe.confirmCardPayment),
// with a plain card-number field. The test then plays Stripe's part: it confirms the PaymentIntent at
// localstripe and delivers the signed webhook.
"use strict";
window.__stripe = {key: null};
window.Stripe = function (key) {
  window.__stripe.key = key;
  var input = null;
  return {
    elements: function () {
      return {create: function (type) {
        return {mount: function (element) {
          input = document.createElement("input");
          input.setAttribute("aria-label", "Card number (" + type + ")");
          element.appendChild(input);
        }};
      }};
    },
    confirmCardPayment: function (clientSecret, data) {
      var number = input.value.replace(/\s+/g, "");
      if (!data || !data.payment_method || !data.payment_method.card) {
        return Promise.resolve({error: {message: "no card element given"}});
      }
      if (number === "4000000000000002") {
        return Promise.resolve({error: {message: "Your card was declined."}});
      }
      window.sessionStorage.setItem("stripeConfirmed", clientSecret);  // survives the page change that follows
      return Promise.resolve({paymentIntent: {status: "succeeded"}});
    }
  };
};
