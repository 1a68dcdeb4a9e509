"""The names people are drawn from, grouped by where they are common.

What these tuples hold, and in what order, is part of the generator's output: a name is drawn by its index,
so any change here changes every generation of a given seed.
"""

from __future__ import annotations

FIRST_NAMES: tuple[str, ...] = (
    # English-speaking men
    "James", "Robert", "John", "Michael", "William", "David", "Richard", "Joseph", "Thomas", "Christopher", "Charles",
    "Daniel", "Matthew", "Anthony", "Mark", "Donald", "Steven", "Andrew", "Joshua", "Kenneth", "Kevin", "Brian",
    "Timothy", "Ronald", "Jason", "Edward", "Jeffrey", "Ryan", "Jacob", "Nicholas", "Jonathan", "Stephen", "Samuel",
    "Benjamin", "Alexander", "Patrick", "Frank", "Raymond", "Gregory", "Peter",
    # English-speaking women
    "Mary", "Patricia", "Jennifer", "Linda", "Elizabeth", "Barbara", "Susan", "Jessica", "Sarah", "Karen", "Lisa",
    "Nancy", "Margaret", "Sandra", "Ashley", "Kimberly", "Emily", "Donna", "Michelle", "Carol", "Amanda", "Melissa",
    "Deborah", "Stephanie", "Rebecca", "Laura", "Sharon", "Cynthia", "Katherine", "Amy", "Angela", "Anna", "Brenda",
    "Emma", "Olivia", "Sophia", "Isabella", "Charlotte", "Amelia", "Harper", "Victoria", "Catherine", "Christine",
    "Samantha", "Rachel", "Hannah", "Natalie", "Grace", "Chloe", "Zoë",
    # British boys
    "Oliver", "Harry", "George", "Noah", "Jack", "Leo", "Oscar", "Charlie", "Freddie", "Alfie",
    # Irish
    "Siobhán", "Aoife", "Ciarán", "Seán", "Niamh", "Conor", "Saoirse", "Cillian", "Róisín", "Darragh",
    # German
    "Lukas", "Jonas", "Maximilian", "Felix", "Paul", "Leon", "Johannes", "Wolfgang", "Jürgen", "Stefan", "Sophie",
    "Marie", "Lena", "Lea", "Mia", "Hanna", "Klara", "Greta", "Anke", "Ulrike",
    # French
    "Jean", "Pierre", "Louis", "Hugo", "Lucas", "Gabriel", "Arthur", "Jules", "Théo", "Raphaël", "Camille", "Manon",
    "Léa", "Chloé", "Inès", "Juliette", "Élodie", "Margaux", "Céline", "Aurélie",
    # Dutch
    "Daan", "Sem", "Bram", "Lars", "Joris", "Sanne", "Fleur", "Femke", "Anouk", "Lotte",
    # Spanish
    "José", "Antonio", "Francisco", "Manuel", "Javier", "Alejandro", "Carmen", "Lucía", "Sofía", "Marta",
    # Italian
    "Giuseppe", "Giovanni", "Marco", "Luca", "Alessandro", "Matteo", "Francesca", "Giulia", "Chiara", "Valentina",
    # Australian
    "Liam", "Ethan", "Mason", "Logan", "Lachlan", "Cooper", "Ava", "Mila", "Isla", "Ruby",
)
"""Given names; some have nicknames in `demo_data.dirt_sources.NICKNAMES`."""

LAST_NAMES: tuple[str, ...] = (
    # common in the United States
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez", "Hernandez",
    "Lopez", "Gonzalez", "Wilson", "Anderson", "Taylor", "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson",
    "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright",
    "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker", "Hall", "Rivera", "Campbell",
    "Mitchell", "Carter", "Roberts", "Gomez", "Phillips", "Evans", "Turner", "Diaz", "Parker", "Cruz", "Edwards",
    "Collins", "Reyes", "Stewart", "Morris", "Morales", "Murphy", "Cook", "Rogers", "Gutierrez", "Ortiz", "Morgan",
    "Cooper", "Peterson", "Bailey", "Reed", "Kelly", "Howard", "Ramos", "Kim", "Cox", "Ward", "Richardson", "Watson",
    "Brooks", "Chavez", "Wood", "James", "Bennett", "Gray", "Mendoza", "Ruiz", "Hughes", "Price",
    # Irish
    "O'Brien", "O'Connor", "Ryan", "Byrne", "O'Sullivan", "Walsh", "McCarthy", "Doyle", "Kennedy", "Lynch",
    # German
    "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz", "Hoffmann", "Schäfer",
    "Koch", "Bauer", "Richter", "Klein", "Wolf", "Schröder", "Neumann", "Schwarz", "Zimmermann",
    # French
    "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau", "Simon",
    "Laurent", "Lefèvre", "Michel", "Garnier", "Faure", "Rousseau", "Blanc", "Guérin", "Chevalier",
    # Dutch
    "de Jong", "Jansen", "de Vries", "van den Berg", "van Dijk", "Bakker", "Janssen", "Visser", "Smit", "Meijer",
    "de Boer", "Mulder", "de Groot", "Bos", "Vos", "Peters", "Hendriks", "van Leeuwen", "Dekker", "Brouwer",
    # Spanish
    "García", "Fernández", "González", "Rodríguez", "López", "Martínez", "Sánchez", "Pérez", "Gómez", "Martín",
    "Jiménez", "Ruiz", "Hernández", "Díaz", "Moreno", "Muñoz", "Álvarez", "Romero", "Alonso", "Navarro",
    # Italian
    "Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci", "Marino", "Greco", "Bruno",
    "Gallo", "Conti", "De Luca", "Mancini", "Costa", "Giordano", "Rizzo", "Lombardi", "Moretti",
    # Scottish
    "Wilson", "Thomson", "Macdonald", "Stewart", "Robertson", "Reid", "Murray", "Paterson", "Ferguson", "Fraser",
    # Chinese and South Asian
    "Chen", "Wang", "Li", "Zhang", "Liu", "Patel", "Shah", "Singh", "Khan", "Ali",
    # Central and Eastern European
    "Nowak", "Kowalski", "Novák", "Horvath", "Nagy", "Popescu", "Ivanova", "Petrov",
    # Nordic
    "Jensen", "Hansen", "Andersen", "Nielsen", "Larsen", "Johansson", "Karlsson", "Lindberg", "Virtanen", "Korhonen",
    # Portuguese
    "Silva", "Santos",
)
"""Surnames, with the spellings (particles, apostrophes, accents) a matcher must cope with."""
