"""Fragments and sentence forms in Spanish, French, German and Portuguese:
a few families per language, each one form."""

from .words import join, pick

PER_LANGUAGE_FORM = 12  # rows wanted per family and language, before caps


ML = {
    "es": {
        "ideation": ["quiero morir", "pienso en matarme", "ya no quiero vivir",
                     "tengo ganas de desaparecer para siempre"],
        "time": ["esta noche", "mañana", "el sábado", "antes del amanecer"],
        "intent": ["me voy a matar", "lo voy a hacer", "se acaba todo"],
        "tail": ["", "de verdad", "ya no aguanto", "no sé qué hacer"],
        "lonely": ["me siento muy solo", "nadie me habla", "no tengo a nadie"],
        "ctx": ["", "desde que me mudé", "en el colegio", "todos los días"],
        "boss": ["ese jefe me mató {n} veces", "morí {n} veces en esa mazmorra"],
        "n": ["veinte", "treinta", "cincuenta", "mil"],
        "react": ["", "jaja", "💀", "no puedo más jaja"],
        "hyper": ["{t} me está matando", "{t} me va a matar"],
        "task": ["este examen", "el calor", "la tarea", "mi jefe"],
        "vent": ["qué día tan largo", "estoy agotado", "estoy estresada con {x}"],
        "x": ["la uni", "el trabajo", "los exámenes"],
    },
    "fr": {
        "ideation": ["je veux mourir", "je pense à me tuer",
                     "je n'ai plus envie de vivre",
                     "j'ai envie de disparaître pour toujours"],
        "time": ["ce soir", "demain", "samedi", "avant l'aube"],
        "intent": ["je vais me tuer", "je vais le faire", "tout s'arrête"],
        "tail": ["", "vraiment", "j'en peux plus", "je sais pas quoi faire"],
        "lonely": ["je me sens très seul", "personne ne me parle",
                   "je n'ai personne"],
        "ctx": ["", "depuis que j'ai déménagé", "au lycée", "tous les jours"],
        "boss": ["ce boss m'a tué {n} fois", "je suis mort {n} fois dans ce donjon"],
        "n": ["vingt", "trente", "cinquante", "mille"],
        "react": ["", "mdr", "💀", "j'en peux plus mdr"],
        "hyper": ["{t} me tue", "{t} va me tuer"],
        "task": ["ce partiel", "la chaleur", "les devoirs", "mon chef"],
        "vent": ["quelle longue journée", "je suis crevé", "je stresse pour {x}"],
        "x": ["la fac", "le boulot", "les exams"],
    },
    "de": {
        "ideation": ["ich will sterben", "ich denke daran, mich umzubringen",
                     "ich will nicht mehr leben",
                     "ich will für immer verschwinden"],
        "time": ["heute nacht", "morgen", "am samstag", "vor sonnenaufgang"],
        "intent": ["bringe ich mich um", "mache ich es", "ist alles vorbei"],
        "tail": ["", "wirklich", "ich kann nicht mehr", "ich weiß nicht weiter"],
        "lonely": ["ich fühle mich so allein", "niemand redet mit mir",
                   "ich habe niemanden"],
        "ctx": ["", "seit dem umzug", "in der schule", "jeden tag"],
        "boss": ["der boss hat mich {n} mal gekillt",
                 "ich bin {n} mal in dem dungeon gestorben"],
        "n": ["zwanzig", "dreißig", "fünfzig", "tausend"],
        "react": ["", "lol", "💀", "ich kann nicht mehr lol"],
        "hyper": ["{t} bringt mich um", "{t} macht mich fertig"],
        "task": ["diese klausur", "die hitze", "die hausaufgaben", "mein chef"],
        "vent": ["was für ein langer tag", "ich bin fertig",
                 "ich bin gestresst wegen {x}"],
        "x": ["der uni", "der arbeit", "der prüfungen"],
    },
    "pt": {
        "ideation": ["quero morrer", "penso em me matar", "não quero mais viver",
                     "queria sumir pra sempre"],
        "time": ["hoje à noite", "amanhã", "no sábado", "antes de amanhecer"],
        "intent": ["eu me mato", "eu vou fazer", "tudo acaba"],
        "tail": ["", "de verdade", "não aguento mais", "não sei o que fazer"],
        "lonely": ["me sinto muito sozinho", "ninguém fala comigo",
                   "não tenho ninguém"],
        "ctx": ["", "desde que me mudei", "na escola", "todo dia"],
        "boss": ["esse chefão me matou {n} vezes",
                 "morri {n} vezes nessa dungeon"],
        "n": ["vinte", "trinta", "cinquenta", "mil"],
        "react": ["", "kkkk", "💀", "não aguento mais kkk"],
        "hyper": ["{t} tá me matando", "{t} vai me matar"],
        "task": ["essa prova", "esse calor", "a lição de casa", "meu chefe"],
        "vent": ["que dia longo", "tô exausto", "tô estressada com {x}"],
        "x": ["a faculdade", "o trabalho", "as provas"],
    },
}



def ml_forms(lang):
    """Forms for one language: family -> (level, form, cores, compose)."""
    d = ML[lang]
    return {
        "ideation": ("high", "ideation", d["ideation"],
                     lambda c, r: join(c, pick(r, d["tail"]))),
        "timeframe": ("critical", "timeframe", d["time"],
                      lambda c, r: join(c, pick(r, d["intent"]),
                                        pick(r, d["tail"]))),
        "isolation": ("medium", "lonely", d["lonely"],
                      lambda c, r: join(c, pick(r, d["ctx"]))),
        "gaming": ("none", "boss", d["boss"],
                   lambda c, r: join(c.format(n=pick(r, d["n"])),
                                     pick(r, d["react"]))),
        "hyperbole": ("none", "hyper", d["hyper"],
                      lambda c, r: c.format(t=pick(r, d["task"]))),
        "venting": ("low", "vent", d["vent"],
                    lambda c, r: c.format(x=pick(r, d["x"]))),
    }
