"""Back-office connectors for "suivi de démarche" and "suivi de subvention" (status by reference number)."""
